import { afterEach, beforeEach, vi } from 'vitest';
import type { PoolJob } from '../protocol/pool-messages.js';
import { StratumError } from '../protocol/errors.js';
import { Channel, ChannelAccount, ChannelJob, ChannelMember, DEFAULT_JOB_WINDOW, MIN_JOB_WINDOW } from './channel.js';
import { recordingChannelHost, testPoolJob as job } from './channel-test-host.shared-spec.js';
import { FanOut } from './fan-out.js';
import type { PoolConnection, PoolConnectionListener } from './pool-connection.js';

/** What the channel told its host, in order. */
const { host, events: hostEvents } = recordingChannelHost();

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
function channelOver(addresses: string[], extranonce2Size = 8, capacity = 256, primaryPoolExtranonce2: number | null = null) {
  const channel = new Channel(
    1,
    'key',
    addresses.map(accountOf),
    { capacity, prefixBytes: 1, minerExtranonce2Size: 4, jobTimeoutMs: 120_000, failbackAfterMs: 60_000, primaryPoolExtranonce2 },
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

  it("with the primary pool's extranonce2 size known, seats a repeated prefix by slot before the pool is up", () => {
    const { channel, ready, job } = channelOver(['pool:1'], 8, 256, 8);
    const first = new Member('01');
    channel.seat(first);
    expect(channel.canSeat('01')).toBe(true);
    const second = new Member('01');
    channel.seat(second);
    expect([channel.slotOf(first), channel.slotOf(second)]).toEqual(['00', '01']);
    ready();
    job('j1');
    expect(second.jobs[0].translationFor(4, '01')).toEqual({ poolExtranonce1: 'e1e101', padding: '0000' });
  });

  it('a known size without room for a slot byte keeps one member per prefix, as an unknown one does', () => {
    const { channel } = channelOver(['pool:1'], 5, 256, 5);
    channel.seat(new Member('01'));
    expect(channel.canSeat('01')).toBe(false);
    expect(channel.canSeat('02')).toBe(true);
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

describe('Channel jobs window', () => {
  /** A ready channel with one member and `count` jobs "1".."count", the first clean. */
  function withJobs(count: number) {
    const made = channelOn(8);
    const miner = new Member('01');
    made.channel.seat(miner);
    made.ready();
    for (let i = 1; i <= count; i++) made.job(String(i), i === 1);
    return { ...made, miner };
  }

  it('keeps the 16 jobs pools commonly keep; an older one is stale, not unknown', () => {
    const { channel } = withJobs(DEFAULT_JOB_WINDOW + 2);
    expect(channel.jobsKept).toBe(16);
    expect(channel.job('3')).toBeDefined();
    for (const id of ['1', '2']) {
      expect(channel.job(id)).toBeUndefined();
      expect(channel.isStale(id)).toBe(true);
    }
  });

  it("learns a pool's shorter window from its job not found, down to a floor, until the next connection", () => {
    const { channel, miner, connections, job } = withJobs(12);
    // Job "4" is 8 jobs behind the newest ("12"): the pool keeps 8.
    channel.poolForgot(channel.job('4')!);
    expect(channel.jobsKept).toBe(8);
    expect(channel.job('4')).toBeUndefined();
    expect(channel.isStale('4')).toBe(true);
    expect(channel.job('5')).toBeDefined();
    job('13', false);
    expect(channel.job('5')).toBeUndefined();
    // A job the newest one replaced (even the current one) never takes the window under the floor.
    channel.poolForgot(channel.job('13')!);
    expect(channel.jobsKept).toBe(MIN_JOB_WINDOW);
    expect([channel.job('12'), channel.job('13')].every(Boolean)).toBe(true);
    // A reconnect may well be another pool: the default again.
    connections[0].restart('closed by the pool');
    connections[0].ready();
    expect(channel.jobsKept).toBe(DEFAULT_JOB_WINDOW);
    expect(miner.heard.at(-1)).toBe('ready');
  });

  it('ignores a job not found for a job retired since (a clean job explains it)', () => {
    const { channel, job } = withJobs(5);
    const old = channel.job('2')!;
    job('6', true);
    channel.poolForgot(old);
    expect(channel.jobsKept).toBe(DEFAULT_JOB_WINDOW);
  });

  it('marks a verdict that came with the connection gone as poolDown, the pool’s own verdicts as they are', async () => {
    const { channel, connections } = withJobs(1);
    const connection = connections[0] as FakeConnection & { submit: PoolConnection['submit'] };
    const rejected = { accepted: false as const, error: new StratumError(23, 'low difficulty share') };
    connection.submit = () => Promise.resolve(rejected);
    expect(await channel.submit(channel.job('1')!, '00', '5f000000', '00000000')).toEqual(rejected);
    connection.submit = () => {
      connection.isReady = false;
      return Promise.resolve({ accepted: false, error: new StratumError(20, 'pool connection lost (ECONNRESET)') });
    };
    expect(await channel.submit(channel.job('1')!, '00', '5f000000', '00000000')).toMatchObject({ accepted: false, poolDown: true });
  });
});
