// Nothing invalid the proxy can know about reaches a pool connection miners share, and the pool's verdicts
// count against the miner that earned them (issue 21, cases 1 and 4), while a healthy miner of the same
// account mines on the same channel throughout.
import { randomInt } from 'node:crypto';
import { difficultyToTarget } from '../src/protocol/difficulty.js';
import { NTIME_MAX_AHEAD_SECONDS } from '../src/protocol/ntime.js';
import { buildHeader, hashMeetsTarget, targetBytes } from '../src/protocol/share-hash.js';
import { PROBATION_AWAITING, PROBATION_REJECTS } from '../src/stratum/session/probation.js';
import { DEFAULT_JOB_WINDOW } from '../src/upstream/channel.js';
import { Farm } from './support/farm.js';
import { sampleWith } from './support/metrics-text.js';
import { powHash } from './support/pow.js';
import type { MinerJob, Response, SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

/** Shares each miner got accepted per second, all mining at once, one share after another, until `done` settles. */
async function acceptedRates(miners: SimMiner[], done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true));
  const started = Date.now();
  return Promise.all(
    miners.map(async (miner) => {
      const before = miner.accepted.length;
      while (!finished && !miner.isClosed) await miner.mineOne();
      return ((miner.accepted.length - before) * 1000) / (Date.now() - started);
    }),
  );
}

/**
 * Runs `during` while the healthy miner mines, and judges the healthy miner's rate against the window before
 * it, each time beside a control miner on a pool connection of its own: the suites running beside this one
 * change the machine's speed from one window to the next, and the control, in the same windows, takes that
 * out. The healthy miner keeps at least 0.6 of its rate relative to the control, and the process at least 0.3
 * of its own (a stall of everything would slow the control as well). Returns what `during` gave.
 */
async function expectHealthyRate<T>(healthy: SimMiner, control: SimMiner, during: () => Promise<T>, what: string): Promise<T> {
  const [before, controlBefore] = await acceptedRates([healthy, control], period(MEASURE_MS));
  expect(before).toBeGreaterThan(0);
  expect(controlBefore).toBeGreaterThan(0);
  const work = during();
  const [after, controlAfter] = await acceptedRates([healthy, control], Promise.all([work, period(MEASURE_MS)]));
  const relative = after / controlAfter / (before / controlBefore);
  console.log(`${what}: healthy ${before.toFixed(1)} -> ${after.toFixed(1)} accepted/s, ${relative.toFixed(2)} of the control's`);
  expect(relative).toBeGreaterThanOrEqual(0.6);
  expect(after).toBeGreaterThanOrEqual(before * 0.3);
  return work;
}

const period = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a rate is measured: long enough that a busy 2-core machine's noise stays well inside the margins. */
const MEASURE_MS = 3000;
const hex32 = (value: number) => (value >>> 0).toString(16).padStart(8, '0');
const errorOf = (response: Response) => response.error as [number, string, null] | null;

/**
 * The test's own shares, as the pool sees them: the sender's prefix (its extranonce1) followed by an
 * extranonce2 far from the sim miners' counters. With the prefix in front, another miner's extranonce2 cannot
 * match by chance across the boundary between its prefix and its counter.
 */
let ownExtranonce2 = 0x40000000;
const ownExtranonces: string[] = [];
const isOwn = (share: { extranonce2: string }) => ownExtranonces.some((own) => share.extranonce2.includes(own));

/** A share for `job` with this ntime that meets the job's difficulty (found by hashing, as a miner would). */
function solve(miner: SimMiner, job: MinerJob, ntime = job.ntime): unknown[] {
  const extranonce2 = hex32(ownExtranonce2++)
    .padStart(miner.extranonce2Size * 2, '0')
    .slice(-miner.extranonce2Size * 2);
  ownExtranonces.push(miner.extranonce1 + extranonce2);
  const header = buildHeader(job, { extranonce1: miner.extranonce1, extranonce2, ntime, nonce: '00000000' });
  const target = targetBytes(difficultyToTarget(job.difficulty));
  for (let nonce = 0; nonce < 1 << 24; nonce++) {
    header.writeUInt32LE(nonce, 76);
    if (hashMeetsTarget(powHash('sha256', header), target)) return [miner.options.login, job.id, extranonce2, ntime, hex32(nonce)];
  }
  throw new Error('no share found');
}

/** `count` new (not clean) jobs from the pool, each awaited at the miner; the jobs as the miner got them. */
async function pushJobs(pool: SimPool, miner: SimMiner, count: number): Promise<MinerJob[]> {
  const received: MinerJob[] = [];
  for (let i = 0; i < count; i++) {
    const job = pool.newJob(false);
    // The proxy relays at most one job per 150 ms: waiting for each keeps every one of them.
    await miner.waitUntil(() => miner.job?.id === job.id, `job ${job.id}`);
    received.push({ ...miner.job! });
  }
  return received;
}

describe('share isolation on a shared pool connection', () => {
  const farm = new Farm();
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;
  /** A miner on a pool and name of its own: the yardstick for the healthy miner's rate. */
  const controlMiner = async (label: string, algorithm?: string) =>
    farm.miner({ login: `${await farm.register(await farm.addPool({ extranonce2Size: 8 }, algorithm), label)}.control` });

  beforeAll(() => farm.start(['--vardiff.shareInterval=0', '--stratum.sessionLinger=10s']));
  afterAll(() => farm.stop());

  it('closes a miner sending garbage on an algorithm the proxy cannot check after a handful of its shares reached the pool', async () => {
    // x13 has no hasher in the proxy: every share would go to the pool unchecked.
    const pool = await farm.addPool({ extranonce2Size: 8 }, 'x13');
    const name = await farm.register(pool, 'unchecked');
    const healthy = farm.miner({ login: `${name}.healthy` });
    const control = await controlMiner('control1', 'x13');
    for (const miner of [healthy, control]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }

    const attacker = farm.miner({ login: `${name}.attacker` });
    const nonces = new Set<string>();
    /** 200 random-nonce shares at once, on a connection of the attacker's (resuming its session the second time). */
    const burst = async () => {
      expect((await attacker.start()).result).toBe(true);
      await attacker.waitForJob();
      const job = attacker.job!;
      const answers = Array.from({ length: 200 }, (_, i) => {
        const nonce = hex32(0x80000000 + randomInt(0x7fffffff));
        nonces.add(nonce);
        const extranonce2 = hex32(0xa0000000 + nonces.size * 256 + i).slice(-attacker.extranonce2Size * 2);
        return attacker.request('mining.submit', [attacker.options.login, job.id, extranonce2, job.ntime, nonce]);
      });
      await attacker.waitUntil(() => attacker.isClosed, 'the attacker closed by the proxy');
      return Promise.all(answers);
    };
    const answers = await expectHealthyRate(
      healthy,
      control,
      async () => [...(await burst()), ...(await burst())],
      'unchecked algorithm, 400 garbage shares',
    );

    const reached = pool.shares.filter((share) => nonces.has(share.nonce));
    console.log(`unchecked algorithm: 400 garbage shares, ${reached.length} reached the pool`);
    expect(reached.length).toBeGreaterThanOrEqual(PROBATION_REJECTS);
    expect(reached.length).toBeLessThanOrEqual(2 * PROBATION_AWAITING);
    expect(reached.every((share) => share.verdict === 'rejected')).toBe(true);
    // The rest were answered locally: the miner hears why.
    expect(answers.some((answer) => /share not forwarded/.test(String(errorOf(answer)?.[1])))).toBe(true);
    expect(answers.some((answer) => answer.result === true)).toBe(false);
    const text = await metrics();
    expect(sampleWith(text, 'proxy_miner_disconnects_total', { reason: 'pool-rejects' })).toBe(2);
    expect(sampleWith(text, 'proxy_shares_rejected_total', { user: name, reason: 'local_probation' })).toBeGreaterThan(0);
    // The healthy miner on the same account (so on the same pool connection) never noticed.
    expect(healthy.isClosed).toBe(false);
    expect(healthy.rejected).toEqual([]);
    expect(new Set(pool.shares.map((share) => share.extranonce1)).size).toBe(1);
    await Promise.all([healthy.close(), control.close()]);
  }, 30_000);

  it('answers ntime out of range and jobs older than the pool keeps locally; the pool sees none of them', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, keepJobs: DEFAULT_JOB_WINDOW, checkNtime: true });
    const name = await farm.register(pool, 'ranges');
    const healthy = farm.miner({ login: `${name}.healthy` });
    const sender = farm.miner({ login: `${name}.sender` });
    const control = await controlMiner('control2');
    for (const miner of [healthy, sender, control]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }

    const submit = (params: unknown[]) => sender.request('mining.submit', params);
    // Solved before the window: the hashing runs in this process, beside the proxy and the healthy miner, and
    // would slow the healthy miner by the test's own CPU rather than by anything the proxy does.
    const job = sender.job!;
    const jobTime = Number.parseInt(job.ntime, 16);
    const ntimeShares = [jobTime - 1, jobTime + 7300, jobTime + 1_000_000].map((ntime) => solve(sender, job, hex32(ntime)));
    // A share that will be 18 jobs back: the pool keeps 16, so does the proxy now.
    const oldShare = solve(sender, { ...job });
    const replay = async () => {
      const ntimeAnswers = [];
      for (const share of ntimeShares) ntimeAnswers.push(await submit(share));
      await pushJobs(pool, sender, 18);
      const staleAnswer = await submit(oldShare);
      return { ntimeAnswers, staleAnswer };
    };
    const { ntimeAnswers, staleAnswer } = await expectHealthyRate(healthy, control, replay, 'ntime and old jobs');

    for (const answer of ntimeAnswers) {
      expect(errorOf(answer)?.[0]).toBe(20);
      expect(errorOf(answer)?.[1]).toMatch(/^ntime out of range/);
    }
    expect(errorOf(ntimeAnswers[1])?.[1]).toContain(`${NTIME_MAX_AHEAD_SECONDS} s past the pool's time`);
    expect(errorOf(staleAnswer)).toEqual([21, 'stale job', null]);
    expect(pool.shares.filter(isOwn)).toEqual([]);
    expect(pool.rejected).toEqual([]);
    const text = await metrics();
    expect(sampleWith(text, 'proxy_shares_rejected_total', { user: name, reason: 'local_invalid_ntime' })).toBe(3);
    // A share of the current job with its own ntime still goes up and is accepted.
    expect((await sender.mineOne()).result).toBe(true);
    expect(sender.isClosed).toBe(false);
    expect(healthy.isClosed).toBe(false);
    expect(healthy.rejected).toEqual([]);
    await Promise.all([healthy.close(), sender.close(), control.close()]);
  }, 30_000);

  it('learns from one job not found that the pool keeps fewer jobs: older ones are stale locally from then on', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, keepJobs: 8 });
    const name = await farm.register(pool, 'window');
    const healthy = farm.miner({ login: `${name}.healthy` });
    const sender = farm.miner({ login: `${name}.sender` });
    for (const miner of [healthy, sender]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }
    const mining = acceptedRates([healthy], period(1000));
    const jobs = await pushJobs(pool, sender, 12);
    await mining;
    // jobs[11] is the newest: jobs[3] is 8 jobs back, the first the pool no longer keeps.
    const forwarded = pool.shares.length;
    expect(errorOf(await sender.request('mining.submit', solve(sender, jobs[3])))).toEqual([21, 'job not found', null]);
    expect(pool.shares.length).toBe(forwarded + 1);
    // 10 jobs back: within the proxy's default 16, but it has learned the pool keeps 8.
    expect(errorOf(await sender.request('mining.submit', solve(sender, jobs[1])))).toEqual([21, 'stale job', null]);
    expect(pool.shares.length).toBe(forwarded + 1);
    // Jobs the pool keeps still go up.
    expect((await sender.request('mining.submit', solve(sender, jobs[5]))).result).toBe(true);
    expect((await healthy.mineOne()).result).toBe(true);
    expect(healthy.isClosed).toBe(false);
    expect(healthy.rejected).toEqual([]);
    await Promise.all([healthy.close(), sender.close()]);
  }, 30_000);
});
