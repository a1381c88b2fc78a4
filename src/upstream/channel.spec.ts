import { afterEach, beforeEach, vi } from 'vitest';
import type { PoolJob } from '../protocol/pool-messages.js';
import { Channel, ChannelAccount, ChannelHost, ChannelJob, ChannelMember } from './channel.js';
import { FanOut } from './fan-out.js';
import type { PoolConnection, PoolConnectionListener } from './pool-connection.js';

/** What the channel told its host, in order. */
const hostEvents: string[] = [];
const host: ChannelHost = {
  accountUp: (_c, index) => hostEvents.push(`up ${index}`),
  accountDown: (_c, index, wasReady) => hostEvents.push(`${wasReady ? 'down' : 'failed'} ${index}`),
  accountRefused: (_c, index) => hostEvents.push(`refused ${index}`),
  failover: (_c, from, to, reason) => hostEvents.push(`failover ${from}->${to} ${reason}`),
  channelGone: () => hostEvents.push('gone'),
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
  readonly heard: string[] = [];
  constructor(readonly prefix: string) {}
  channelReady(): void {
    this.heard.push('ready');
  }
  channelJob(received: ChannelJob): void {
    this.jobs.push(received);
  }
  channelDifficulty(): void {}
  channelVersionMask(): void {}
  channelDown(wasReady: boolean): void {
    this.heard.push(wasReady ? 'down' : 'attempt failed');
  }
  channelUnavailable(detail: string): void {
    this.heard.push(`unavailable: ${detail}`);
  }
  channelClosed(detail: string): void {
    this.heard.push(`closed: ${detail}`);
  }
}

/** A pool connection the test drives: its events go to whichever listener the channel gave it last. */
class FakeConnection {
  listener: PoolConnectionListener;
  isReady = false;
  closed = false;
  extranonce: { extranonce1: string; extranonce2Size: number } | null = null;
  lastJob: PoolJob | null = null;
  difficulty = 1;
  versionMask = null;
  constructor(
    readonly account: ChannelAccount,
    listener: PoolConnectionListener,
    readonly label: string,
  ) {
    this.listener = listener;
  }
  start(): void {}
  setListener(listener: PoolConnectionListener): void {
    this.listener = listener;
  }
  close(): void {
    this.closed = true;
    this.isReady = false;
  }
  restart(reason: string): void {
    this.isReady = false;
    this.listener.onDown(reason, true);
  }
  ready(extranonce2Size = 8, extranonce1 = 'e1e1'): void {
    this.extranonce = { extranonce1, extranonce2Size };
    this.isReady = true;
    this.listener.onReady(this.extranonce, null);
  }
  fail(reason = 'ECONNREFUSED'): void {
    this.isReady = false;
    this.listener.onDown(reason, false);
  }
  job(id: string, clean = true): void {
    this.lastJob = job(id, clean);
    this.listener.onJob(this.lastJob);
  }
}

const accountOf = (address: string): ChannelAccount => {
  const [host, port] = address.split(':');
  return { address, account: { host, port: Number(port), user: `u-${address}`, password: 'p' } };
};

/** A channel over fake pool connections; `connections` lists every one it opened, probes included. */
function channelOver(addresses: string[], extranonce2Size = 8, capacity = 256) {
  const channel = new Channel(
    1,
    'key',
    addresses.map(accountOf),
    { capacity, prefixBytes: 1, minerExtranonce2Size: 4, jobTimeoutMs: 120_000, failbackAfterMs: 60_000 },
    host,
    new FanOut(1000),
  );
  const connections: FakeConnection[] = [];
  channel.open((account, listener, label) => {
    const connection = new FakeConnection(account, listener, label);
    connections.push(connection);
    return connection as unknown as PoolConnection;
  });
  const first = connections[0];
  return {
    channel,
    connections,
    ready: () => first.ready(extranonce2Size),
    job: (id: string, clean = true) => first.job(id, clean),
  };
}

const channelOn = (extranonce2Size: number, capacity = 256) => channelOver(['pool:1'], extranonce2Size, capacity);

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

describe('Channel failover', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    hostEvents.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('moves its sessions to the backup when the primary cannot be connected, with job ids of their own', () => {
    const { channel, connections } = channelOver(['primary:1', 'backup:2']);
    const miner = new Member('01');
    channel.seat(miner);
    const [primary] = connections;
    primary.ready();
    primary.job('1');
    expect(miner.jobs.map((j) => j.minerJobId)).toEqual(['1']);
    primary.restart('closed by the pool');
    primary.fail();
    // The next account at once (a whole round has not failed yet): no wait.
    expect(connections).toHaveLength(2);
    expect(primary.closed).toBe(true);
    const backup = connections[1];
    expect(backup.account.address).toBe('backup:2');
    backup.ready();
    backup.job('1');
    expect(channel.active).toBe(1);
    expect(channel.poolAddress).toBe('backup:2');
    expect(hostEvents).toEqual(['up 0', 'down 0', 'failed 0', 'up 1', 'failover 0->1 unreachable']);
    // The backup's job "1" is not the primary's job "1": a share for the old one is stale.
    const relayed = miner.jobs.at(-1)!;
    expect(relayed.minerJobId).not.toBe('1');
    expect(channel.job(relayed.minerJobId)).toBe(relayed);
    expect(channel.job('1')).toBeUndefined();
    expect(channel.isStale('1')).toBe(true);
    expect(miner.heard).toEqual(['ready', 'down', 'attempt failed', 'ready']);
  });

  it('tells its sessions why when no account works, and tries again after a backoff', () => {
    const { channel, connections } = channelOver(['primary:1', 'backup:2']);
    const miner = new Member('01');
    channel.seat(miner);
    connections[0].fail('ECONNREFUSED');
    connections[1].fail('connect/handshake timeout');
    expect(miner.heard.at(-1)).toBe(
      'unavailable: pool unreachable: primary:1 (ECONNREFUSED); pool unreachable: backup:2 (connect/handshake timeout)',
    );
    expect(channel.failure).toContain('primary:1');
    expect(connections).toHaveLength(2);
    vi.advanceTimersByTime(999);
    expect(connections).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(connections).toHaveLength(3);
    expect(connections[2].account.address).toBe('primary:1');
    connections[2].ready();
    expect(channel.isReady).toBe(true);
    expect(channel.failure).toBe('pool unreachable: backup:2 (connect/handshake timeout)');
  });

  it('goes back to the primary once it has stayed up for the failback time, on the connection that proved it', () => {
    const { channel, connections } = channelOver(['primary:1', 'backup:2']);
    const miner = new Member('01');
    channel.seat(miner);
    connections[0].fail();
    const backup = connections[1];
    backup.ready();
    // On a backup, the primary is probed on a connection of its own.
    expect(connections).toHaveLength(3);
    const probe = connections[2];
    expect(probe.account.address).toBe('primary:1');
    probe.ready();
    probe.job('7');
    vi.advanceTimersByTime(30_000);
    probe.restart('closed by the pool'); // a flap restarts the clock
    probe.ready();
    vi.advanceTimersByTime(59_999);
    expect(channel.active).toBe(1);
    vi.advanceTimersByTime(1);
    expect(channel.active).toBe(0);
    expect(backup.closed).toBe(true);
    expect(hostEvents.slice(-3)).toEqual(['down 1', 'up 0', 'failover 1->0 failback']);
    // The probe's last job goes out at once, clean.
    expect(miner.jobs.at(-1)!.job.jobId).toBe('7');
  });

  it('leaves an account that sends no job for the job timeout', () => {
    const { channel, connections } = channelOver(['primary:1', 'backup:2']);
    channel.seat(new Member('01'));
    connections[0].ready();
    connections[0].job('1');
    vi.advanceTimersByTime(119_000);
    connections[0].job('2', false);
    vi.advanceTimersByTime(119_000);
    expect(connections).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(connections).toHaveLength(2);
    connections[1].ready();
    expect(hostEvents.at(-1)).toBe('failover 0->1 no_job');
  });

  it('with one account, reconnects after the job timeout and ends when the pool refuses the credentials', () => {
    const { channel, connections } = channelOver(['only:1']);
    const miner = new Member('01');
    channel.seat(miner);
    connections[0].ready();
    vi.advanceTimersByTime(120_000);
    expect(miner.heard.at(-1)).toBe('down');
    expect(connections).toHaveLength(1);
    connections[0].listener.onAuthorizeFailed('unauthorized worker');
    expect(miner.heard.at(-1)).toBe('closed: pool refused: unauthorized worker');
    expect(channel.closed).toBe(true);
  });
});

describe('ChannelJob duplicate set', () => {
  const made = () => new ChannelJob(job('1'), '1', 1, { extranonce1: '00', extranonce2Size: 8 }, null, 1);

  it('tells new shares from duplicates', () => {
    const channelJob = made();
    expect(channelJob.remember('a', 2)).toBe('new');
    expect(channelJob.remember('a', 2)).toBe('seen');
  });

  it('refuses when full instead of forgetting, so an old duplicate is still caught', () => {
    const channelJob = made();
    expect(channelJob.remember('a', 2)).toBe('new');
    expect(channelJob.remember('b', 2)).toBe('new');
    expect(channelJob.remember('c', 2)).toBe('full');
    expect(channelJob.remember('a', 2)).toBe('seen');
  });
});
