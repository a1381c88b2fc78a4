import type { PoolJob } from '../protocol/pool-messages.js';
import { Channel, ChannelHost, ChannelJob, ChannelMember } from './channel.js';
import { FanOut } from './fan-out.js';
import type { PoolConnection, PoolConnectionListener } from './pool-connection.js';

const host: ChannelHost = {
  channelUp: () => undefined,
  channelDown: () => undefined,
  channelRefused: () => undefined,
  channelGone: () => undefined,
  poolProtocolError: () => undefined,
};

const job = (jobId: string, cleanJobs = true): PoolJob => ({
  jobId,
  prevhash: '00'.repeat(32),
  coinb1: 'aa',
  coinb2: 'bb',
  merkleBranch: [],
  version: '20000000',
  nbits: '1d00ffff',
  ntime: '5f000000',
  cleanJobs,
});

class Member implements ChannelMember {
  readonly jobs: ChannelJob[] = [];
  constructor(readonly prefix: string) {}
  channelReady(): void {}
  channelJob(received: ChannelJob): void {
    this.jobs.push(received);
  }
  channelDifficulty(): void {}
  channelVersionMask(): void {}
  channelDown(): void {}
  channelClosed(): void {}
}

/** A channel on a fake pool connection whose events the test drives. */
function channelOn(extranonce2Size: number, capacity = 256) {
  const channel = new Channel(
    1,
    'key',
    { host: 'pool', port: 1, user: 'u', password: 'p' },
    'pool:1',
    capacity,
    1,
    4,
    host,
    new FanOut(1000),
  );
  let listener!: PoolConnectionListener;
  const connection = { extranonce: null as null | { extranonce1: string; extranonce2Size: number }, lastJob: null, difficulty: 1 };
  channel.open((l) => {
    listener = l;
    return {
      ...connection,
      start: () => undefined,
      close: () => undefined,
      get isReady() {
        return true;
      },
    } as unknown as PoolConnection;
  });
  const fake = channel as unknown as { connection: typeof connection };
  return {
    channel,
    ready: () => {
      fake.connection.extranonce = { extranonce1: 'e1e1', extranonce2Size };
      listener.onReady({ extranonce1: 'e1e1', extranonce2Size }, null);
    },
    job: (id: string, clean = true) => listener.onJob(job(id, clean)),
  };
}

describe('Channel', () => {
  it('holds each prefix once before the pool is known, and up to its capacity', () => {
    const { channel } = channelOn(8, 3);
    const a = new Member('01');
    channel.seat(a);
    expect(channel.canSeat('01')).toBe(false);
    for (const prefix of ['02', '03']) channel.seat(new Member(prefix));
    expect(channel.canSeat('04')).toBe(false);
  });

  it('seats a repeated prefix in a slot of its own where the pool extranonce2 has room, with its own coinbase', () => {
    const { channel, ready, job } = channelOn(8);
    const first = new Member('01');
    channel.seat(first);
    ready();
    const second = new Member('01');
    expect(channel.canSeat('01')).toBe(true);
    channel.seat(second);
    expect([channel.slotOf(first), channel.slotOf(second)]).toEqual(['00', '01']);
    job('j1');
    const [relayed] = second.jobs;
    // The slot follows the pool's extranonce1 in coinb1; the padding shrinks by the slot byte.
    expect(relayed.translationFor(4, '01')).toEqual({ poolExtranonce1: 'e1e101', padding: '0000' });
    expect(relayed.notifyLine(4, '00', true)!.equals(relayed.notifyLine(4, '01', true)!)).toBe(false);
  });

  it('uses no slot where the pool extranonce2 has no byte to spare', () => {
    const { channel, ready } = channelOn(5);
    const first = new Member('01');
    channel.seat(first);
    ready();
    expect(channel.slotOf(first)).toBe('');
    expect(channel.canSeat('01')).toBe(false);
    expect(channel.extranonce2Room).toBe(5);
  });

  it('keeps a departed miner’s slot and prefix until the next clean job', () => {
    const { channel, ready, job } = channelOn(5);
    const miner = new Member('07');
    channel.seat(miner);
    ready();
    job('j1');
    channel.unseat(miner, 60_000);
    expect(channel.canSeat('07')).toBe(false);
    job('j2', false);
    expect(channel.canSeat('07')).toBe(false);
    job('j3', true);
    expect(channel.canSeat('07')).toBe(true);
    channel.close();
  });
});
