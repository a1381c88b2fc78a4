// Sv2PoolConnection alone against the simulated SV2 pool over 127.0.0.1: Noise, setup, one extended channel,
// jobs in SV1 form, and shares hashed for real whose verdicts come from the pool's own validation.
import { difficultyToTarget } from '../src/protocol/difficulty.js';
import type { PoolExtranonce, PoolJob } from '../src/protocol/pool-messages.js';
import { buildHeader, hashValue, rolledVersion, sha256d } from '../src/protocol/share-hash.js';
import { targetToDifficulty } from '../src/protocol/sv2/sv1-translation.js';
import { PoolConnection, type PoolConnectionListener, type ShareVerdict } from '../src/upstream/pool-connection.js';
import { isSv2SecurityReason, Sv2PoolConnection, type Sv2PoolConnectionOptions } from '../src/upstream/sv2-pool-connection.js';
import type { UpstreamConnection } from '../src/upstream/upstream-connection.js';
import { REQUIRES_FIXED_VERSION, SimSv2Pool, type SimSv2PoolOptions } from './support/sim-sv2-pool.js';
import { until } from './support/until.js';

// Both implementations fit the one seam a channel will use.
const seam: (connection: PoolConnection | Sv2PoolConnection) => UpstreamConnection = (connection) => connection;
void seam;

const USER = 'farm.rig1';
const MASK = 0x1fffe000;

interface Recorder {
  readonly events: string[];
  readonly jobs: PoolJob[];
  readonly difficulties: number[];
  readonly masks: number[];
  readonly extranonces: PoolExtranonce[];
  readonly downs: { reason: string; wasReady: boolean }[];
  readonly refusals: string[];
  readies: number;
  readyMask: number | null | undefined;
}

const pools: SimSv2Pool[] = [];
const connections: Sv2PoolConnection[] = [];

afterEach(async () => {
  for (const connection of connections.splice(0)) connection.close();
  for (const pool of pools.splice(0)) await pool.stop();
});

async function startPool(options: SimSv2PoolOptions = {}): Promise<SimSv2Pool> {
  const pool = new SimSv2Pool(options);
  pools.push(pool);
  await pool.start();
  return pool;
}

function connectTo(
  pool: SimSv2Pool,
  options: Partial<Sv2PoolConnectionOptions> = {},
  authorityPublicKey = pool.authorityPublicKey,
): { connection: Sv2PoolConnection; record: Recorder } {
  const record: Recorder = {
    events: [],
    jobs: [],
    difficulties: [],
    masks: [],
    extranonces: [],
    downs: [],
    refusals: [],
    readies: 0,
    readyMask: undefined,
  };
  const listener: PoolConnectionListener = {
    onReady: (_extranonce, mask) => {
      record.events.push('ready');
      record.readies++;
      record.readyMask = mask;
    },
    onAuthorizeFailed: (reason) => record.refusals.push(reason),
    onJob: (job) => {
      record.events.push(`job ${job.jobId}`);
      record.jobs.push(job);
    },
    onDifficulty: (difficulty) => {
      record.events.push('difficulty');
      record.difficulties.push(difficulty);
    },
    onExtranonce: (extranonce) => record.extranonces.push(extranonce),
    onVersionMask: (mask) => {
      record.events.push(`mask ${mask.toString(16)}`);
      record.masks.push(mask);
    },
    onDown: (reason, wasReady) => record.downs.push({ reason, wasReady }),
    onProtocolError: () => undefined,
  };
  const connection = new Sv2PoolConnection(
    { host: '127.0.0.1', port: pool.port, user: USER, password: '', authorityPublicKey },
    {
      userAgent: 'stratum-proxy/test',
      maxLineLength: 16_384,
      connectTimeoutMs: 3000,
      submitTimeoutMs: 3000,
      versionRollingMask: MASK,
      initialBackoffMs: 50,
      maxBackoffMs: 100,
      nominalHashRate: 2e12,
      ...options,
    },
    listener,
    'test',
  );
  connections.push(connection);
  connection.start();
  return { connection, record };
}

async function ready(pool: SimSv2Pool, options: Partial<Sv2PoolConnectionOptions> = {}) {
  const connected = connectTo(pool, options);
  await until(() => connected.connection.isReady, 'the SV2 connection to be ready');
  return connected;
}

interface Share {
  readonly jobId: string;
  readonly extranonce2: string;
  readonly ntime: string;
  readonly nonce: string;
  readonly versionBits?: string;
}

/** Hashes nonces from `from` until one meets (or, with `bad`, misses) the target of `difficulty`. */
function mine(
  job: PoolJob,
  extranonce: PoolExtranonce,
  difficulty: number,
  options: { bad?: boolean; from?: number; versionBits?: string; mask?: number; extranonce2?: string } = {},
): Share {
  const target = difficultyToTarget(difficulty);
  const extranonce2 = options.extranonce2 ?? '00'.repeat(extranonce.extranonce2Size);
  for (let n = options.from ?? 0; ; n++) {
    const nonce = n.toString(16).padStart(8, '0');
    const header = buildHeader(job, {
      extranonce1: extranonce.extranonce1,
      extranonce2,
      ntime: job.ntime,
      nonce,
      versionBits: options.versionBits,
      versionMask: options.mask,
    });
    const good = hashValue(sha256d(header)) <= target;
    if (good !== (options.bad ?? false))
      return { jobId: job.jobId, extranonce2, ntime: job.ntime, nonce, versionBits: options.versionBits };
  }
}

const submit = (connection: Sv2PoolConnection, share: Share): Promise<ShareVerdict> =>
  connection.submit(share.jobId, share.extranonce2, share.ntime, share.nonce, share.versionBits);

describe('Sv2PoolConnection against a simulated SV2 pool', () => {
  it('handshakes, sets up the mining protocol, opens one extended channel and is ready with its first job', async () => {
    const pool = await startPool();
    const { connection, record } = await ready(pool);
    expect(pool.setups).toHaveLength(1);
    expect(pool.setups[0]).toMatchObject({ protocol: 0, minVersion: 2, maxVersion: 2, flags: 1 << 2, vendor: 'stratum-proxy/test' });
    expect(pool.opens).toHaveLength(1);
    expect(pool.opens[0]).toMatchObject({
      userIdentity: USER,
      nominalHashRate: Math.fround(2e12),
      minExtranonceSize: 8,
      maxTarget: (1n << 256n) - 1n,
    });
    expect(connection.extranonce).toEqual({ extranonce1: '00000001', extranonce2Size: 8 });
    expect(record.difficulties).toEqual([2 ** -28]);
    expect(connection.difficulty).toBe(2 ** -28);
    // The first job (a future job and its prev hash) arrives with readiness, clean, as PoolConnection's lastJob.
    expect(record.events).toEqual(['difficulty', 'ready']);
    expect(record.readyMask).toBe(MASK);
    expect(connection.lastJob).toMatchObject({ cleanJobs: true, version: '20000000', nbits: '1d00ffff' });
    expect(connection.lastJob!.merkleBranch).toHaveLength(2);
  });

  it('a share hashed for real on the SV1 form of the job is accepted by the pool, and its verdict says so', async () => {
    const pool = await startPool();
    const { connection } = await ready(pool);
    const share = mine(connection.lastJob!, connection.extranonce!, connection.difficulty!);
    await expect(submit(connection, share)).resolves.toEqual({ accepted: true });
    expect(pool.counts.get(USER)).toEqual({ accepted: 1, rejected: 0 });
    expect(pool.submits[0]).toMatchObject({ sequenceNumber: 0, version: 0x20000000, nonce: Number.parseInt(share.nonce, 16) });
    expect(connection.sharesInFlight).toBe(0);
  });

  it('a share above the target is rejected with the pool reason; a resubmitted one is a duplicate', async () => {
    const pool = await startPool();
    const { connection } = await ready(pool);
    const job = connection.lastJob!;
    const bad = await submit(connection, mine(job, connection.extranonce!, connection.difficulty!, { bad: true }));
    expect(bad.accepted).toBe(false);
    if (bad.accepted) return;
    expect([bad.error.code, bad.error.message]).toEqual([23, 'difficulty-too-low']);
    const good = mine(job, connection.extranonce!, connection.difficulty!);
    await expect(submit(connection, good)).resolves.toEqual({ accepted: true });
    const again = await submit(connection, good);
    expect(again.accepted ? null : [again.error.code, again.error.message]).toEqual([22, 'duplicate-share']);
    expect(pool.counts.get(USER)).toEqual({ accepted: 1, rejected: 2 });
  });

  it('one SubmitShares.Success acknowledging a batch resolves every share up to its sequence number; an error in between stays its own', async () => {
    const pool = await startPool({ ackBatch: 3 });
    const { connection } = await ready(pool);
    const job = connection.lastJob!;
    const extranonce = connection.extranonce!;
    const difficulty = connection.difficulty!;
    const first = mine(job, extranonce, difficulty);
    const second = mine(job, extranonce, difficulty, { from: Number.parseInt(first.nonce, 16) + 1 });
    const third = mine(job, extranonce, difficulty, { from: Number.parseInt(second.nonce, 16) + 1 });
    const verdicts = [
      submit(connection, first),
      submit(connection, mine(job, extranonce, difficulty, { bad: true })),
      submit(connection, second),
    ];
    await expect(verdicts[1]).resolves.toMatchObject({ accepted: false });
    // Two accepted shares wait for the third of the batch.
    expect(connection.sharesInFlight).toBe(2);
    verdicts.push(submit(connection, third));
    expect((await Promise.all(verdicts)).map((verdict) => verdict.accepted)).toEqual([true, false, true, true]);
    expect(connection.sharesInFlight).toBe(0);
    expect(pool.counts.get(USER)).toEqual({ accepted: 3, rejected: 1 });
  });

  it('a share the pool never answers resolves as timed out', async () => {
    const pool = await startPool({ ackBatch: 1000 });
    const { connection } = await ready(pool, { submitTimeoutMs: 200 });
    const verdict = await submit(connection, mine(connection.lastJob!, connection.extranonce!, connection.difficulty!));
    expect(verdict).toMatchObject({ accepted: false, timedOut: true });
    expect(pool.accepted).toBe(1);
  });

  it('a job frame longer than one Noise chunk arrives whole, and a share of it is accepted', async () => {
    const pool = await startPool({ coinbasePadding: 70_000 });
    const { connection } = await ready(pool);
    const job = connection.lastJob!;
    expect((job.coinb1.length + job.coinb2.length) / 2).toBeGreaterThan(70_000);
    await expect(submit(connection, mine(job, connection.extranonce!, connection.difficulty!))).resolves.toEqual({ accepted: true });
  });

  it('a future job waits for its SetNewPrevHash and is then clean; a job of the current block is not', async () => {
    const pool = await startPool();
    const { connection, record } = await ready(pool);
    const future = pool.sendFutureJob();
    // A round trip after the future job: had it been passed on, it would be here by now.
    await submit(connection, mine(connection.lastJob!, connection.extranonce!, connection.difficulty!));
    expect(record.jobs).toHaveLength(0);
    pool.activate(future);
    await until(() => record.jobs.length === 1, 'the activated job');
    expect(record.jobs[0]).toMatchObject({ jobId: future.toString(16), cleanJobs: true });
    const current = pool.newJob();
    await until(() => record.jobs.length === 2, 'the current-block job');
    expect(record.jobs[1]).toMatchObject({ jobId: current.toString(16), cleanJobs: false, prevhash: record.jobs[0].prevhash });
    // Shares of the job before the new block are stale at the pool: the connection refuses them locally.
    const stale = mine(connection.lastJob!, connection.extranonce!, connection.difficulty!);
    await expect(submit(connection, { ...stale, jobId: 'ffff' })).resolves.toMatchObject({ accepted: false });
    await expect(submit(connection, mine(record.jobs[1], connection.extranonce!, connection.difficulty!))).resolves.toEqual({
      accepted: true,
    });
  });

  it('a share with rolled version bits is sent with the full header version and accepted', async () => {
    const pool = await startPool();
    const { connection } = await ready(pool);
    const share = mine(connection.lastJob!, connection.extranonce!, connection.difficulty!, { versionBits: '00006000', mask: MASK });
    await expect(submit(connection, share)).resolves.toEqual({ accepted: true });
    expect(pool.submits[0].version).toBe(Number.parseInt(rolledVersion('20000000', '00006000', MASK), 16));
    expect(pool.submits[0].version).toBe(0x20006000);
  });

  it('version_rolling_allowed false: the mask is 0 and a rolled share is refused without reaching the pool', async () => {
    const pool = await startPool({ versionRollingAllowed: false });
    const { connection, record } = await ready(pool);
    expect(record.readyMask).toBe(0);
    expect(connection.versionMask).toBe(0);
    const rolled = mine(connection.lastJob!, connection.extranonce!, connection.difficulty!, { versionBits: '00002000', mask: MASK });
    await expect(submit(connection, rolled)).resolves.toMatchObject({ accepted: false });
    expect(pool.submits).toHaveLength(0);
    const plain = mine(connection.lastJob!, connection.extranonce!, connection.difficulty!);
    await expect(submit(connection, plain)).resolves.toEqual({ accepted: true });
  });

  it('a pool requiring a fixed version gives every job mask 0', async () => {
    const pool = await startPool({ setupFlags: REQUIRES_FIXED_VERSION });
    const { record } = await ready(pool);
    expect(record.readyMask).toBe(0);
  });

  it('a pool refusing the version-rolling flag is asked again without it (not reported down), and mined at mask 0', async () => {
    const pool = await startPool({ refuseVersionRolling: true });
    const { connection, record } = await ready(pool);
    expect(record.downs).toEqual([]);
    expect(pool.setups.map((setup) => setup.flags)).toEqual([1 << 2, 0]);
    expect(record.readyMask).toBe(0);
    await expect(submit(connection, mine(connection.lastJob!, connection.extranonce!, connection.difficulty!))).resolves.toEqual({
      accepted: true,
    });
  });

  it('a frame over the size limit closes the connection before its payload is read', async () => {
    const pool = await startPool();
    const { record } = connectTo(pool, { maxFramePayload: 64 });
    await until(() => record.downs.length > 0, 'the attempt to fail');
    expect(record.downs[0].reason).toMatch(/^SV2 framing: frame payload of \d+ bytes over the limit of 64/);
  });

  it('SetTarget is a difficulty event; SetExtranoncePrefix an extranonce change', async () => {
    const pool = await startPool();
    const { connection, record } = await ready(pool);
    const target = difficultyToTarget(2 ** -20);
    pool.setTarget(target);
    await until(() => record.difficulties.length === 2, 'the new difficulty');
    expect(record.difficulties[1]).toBe(targetToDifficulty(target));
    expect(connection.difficulty).toBe(2 ** -20);
    pool.setExtranoncePrefix(Buffer.from('abcdef01', 'hex'));
    await until(() => record.extranonces.length === 1, 'the new extranonce');
    expect(record.extranonces[0]).toEqual({ extranonce1: 'abcdef01', extranonce2Size: 8 });
  });

  it('UpdateChannel carries the measured hashrate and a miner difficulty hint', async () => {
    const pool = await startPool();
    const { connection } = await ready(pool);
    connection.updateNominalHashRate(5e12);
    connection.suggestDifficulty(1024);
    await until(() => pool.updates.length === 2, 'two UpdateChannel messages');
    expect(pool.updates[0]).toMatchObject({ channelId: 1, nominalHashRate: Math.fround(5e12) });
    expect(pool.updates[1]).toMatchObject({ nominalHashRate: Math.fround(5e12), maximumTarget: difficultyToTarget(1024) });
  });

  it('a certificate not signed by the authority key fails the attempt with a security reason', async () => {
    const pool = await startPool({ wrongAuthorityKey: true });
    const { connection, record } = connectTo(pool);
    await until(() => record.downs.length > 0, 'the attempt to fail');
    expect(record.downs[0].wasReady).toBe(false);
    expect(record.downs[0].reason).toMatch(/^Noise handshake failed \(bad-signature\): .*authority key/);
    expect(isSv2SecurityReason(record.downs[0].reason)).toBe(true);
    expect(connection.isReady).toBe(false);
    expect(pool.setups).toHaveLength(0);
  });

  it('an expired certificate fails the attempt', async () => {
    const pool = await startPool({ expiredCertificate: true });
    const { record } = connectTo(pool);
    await until(() => record.downs.length > 0, 'the attempt to fail');
    expect(record.downs[0]).toMatchObject({ wasReady: false });
    expect(record.downs[0].reason).toMatch(/^Noise handshake failed \(certificate-expired\)/);
  });

  it('an authority key that does not decode fails every attempt without connecting', async () => {
    const pool = await startPool();
    const { record } = connectTo(pool, {}, 'not-a-key');
    await until(() => record.downs.length > 0, 'the attempt to fail');
    expect(record.downs[0].reason).toMatch(/^Noise authority key: /);
    expect(pool.setups).toHaveLength(0);
  });

  it('a tampered frame closes the connection cleanly: shares in flight fail, and it reconnects', async () => {
    const pool = await startPool({ ackBatch: 1000 });
    const { connection, record } = await ready(pool);
    const waiting = submit(connection, mine(connection.lastJob!, connection.extranonce!, connection.difficulty!));
    await until(() => pool.submits.length === 1, 'the share at the pool');
    pool.tamperNextFrame();
    pool.setTarget(difficultyToTarget(1));
    await until(() => record.downs.length > 0, 'the connection to drop');
    expect(record.downs[0].wasReady).toBe(true);
    expect(record.downs[0].reason).toMatch(/^Noise transport failed \(decryption-failed\)/);
    // The target in the tampered frame was never acted on.
    expect(record.difficulties).toEqual([2 ** -28]);
    await expect(waiting).resolves.toMatchObject({ accepted: false });
    await until(() => record.readies === 2, 'the reconnection');
    expect(pool.opens).toHaveLength(2);
  });

  it('CloseChannel and Reconnect drop the connection, which comes back with a new channel', async () => {
    const pool = await startPool();
    const { connection, record } = await ready(pool);
    pool.closeChannels('maintenance');
    await until(() => record.downs.length === 1, 'the channel to close');
    expect(record.downs[0]).toEqual({ reason: 'CloseChannel: maintenance', wasReady: true });
    await until(() => record.readies === 2, 'the reconnection');
    expect(connection.extranonce).toEqual({ extranonce1: '00000002', extranonce2Size: 8 });
    pool.reconnect();
    await until(() => record.downs.length === 2, 'the reconnect request');
    expect(record.downs[1]).toEqual({ reason: 'Reconnect', wasReady: true });
    await until(() => record.readies === 3, 'the third connection');
  });

  it('OpenMiningChannel.Error refuses the account for good', async () => {
    const pool = await startPool({ refuseChannel: 'unknown-user' });
    const { connection, record } = connectTo(pool);
    await until(() => record.refusals.length === 1, 'the refusal');
    expect(record.refusals[0]).toBe('OpenMiningChannel.Error: unknown-user');
    expect(connection.isClosed).toBe(true);
  });

  it('a pool that loses the connection: the attempt is reported down and retried', async () => {
    const pool = await startPool();
    const { record } = await ready(pool);
    pool.dropConnections();
    await until(() => record.downs.length === 1, 'the drop');
    expect(record.downs[0]).toEqual({ reason: 'closed by the pool', wasReady: true });
    await until(() => record.readies === 2, 'the reconnection');
  });
});
