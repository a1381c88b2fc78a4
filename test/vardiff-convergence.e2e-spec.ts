// Vardiff on real hashing miners at a shortened interval (1 s for the default 10 s): a miner 10x too slow
// for its starting difficulty reaches its own within 6 intervals (60 s at the default), one 10x too fast
// within 3 (30 s), and both stay there.
import { Farm } from './support/farm.js';
import type { SimMiner } from './support/sim-miner.js';

const INTERVAL_S = 1;
// The pool's difficulty: 2^-18, 65,536 hashes a share.
const POOL_DIFFICULTY = 2 ** -18;
const HASHES_PER_POOL_SHARE = POOL_DIFFICULTY * 2 ** 32;
/** One pool share per 10 intervals: its own difficulty is a tenth of the pool's. */
const SLOW_RATE = HASHES_PER_POOL_SHARE / (10 * INTERVAL_S);
/** Its own difficulty is a quarter of the pool's; it starts (by suggestion) 10x below that. */
const FAST_RATE = HASHES_PER_POOL_SHARE / 4 / INTERVAL_S;
const MINERS = 5;
const RUN_MS = 12_000;

describe('vardiff convergence on real miners', () => {
  const farm = new Farm();
  let jobs: NodeJS.Timeout | undefined;

  beforeAll(() => farm.start(['--vardiff.shareInterval=1s', '--vardiff.minDifficulty=0.000000000001']));
  afterAll(async () => {
    clearInterval(jobs);
    await farm.stop();
  });

  /** Every difficulty the miner is told, with when it heard it (the miner's own message handler runs first). */
  const watch = (miner: SimMiner) => {
    const told = [{ at: 0, difficulty: miner.difficulty }];
    miner.socket!.on('data', () => {
      if (miner.difficulty !== told.at(-1)!.difficulty) told.push({ at: Date.now(), difficulty: miner.difficulty });
    });
    return told;
  };
  const at = (told: { at: number; difficulty: number }[], time: number) => told.filter((step) => step.at <= time).at(-1)!.difficulty;

  it('takes 10x slow miners to their own difficulty in 6 intervals and 10x fast ones in 3, each judged at the rate it really hashed', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, difficulty: POOL_DIFFICULTY });
    const name = await farm.register(pool, 'converge');
    const fastStart = (FAST_RATE * INTERVAL_S) / 2 ** 32 / 10;
    const slow = Array.from({ length: MINERS }, (_, i) => farm.miner({ login: `${name}.slow${i}` }));
    const fast = Array.from({ length: MINERS }, (_, i) => farm.miner({ login: `${name}.fast${i}`, suggestDifficulty: fastStart }));
    // Ten jobs an interval: a new difficulty applies from the miner's next job, as with real pools.
    jobs = setInterval(() => pool.newJob(false), (INTERVAL_S * 1000) / 10);
    // Each miner hashes from the moment it has work, so its vardiff sees no idle time it did not have.
    const told = new Map<SimMiner, { at: number; difficulty: number }[]>();
    const started = new Map<SimMiner, number>();
    const running: ReturnType<SimMiner['hashAt']>[] = [];
    for (const miner of [...slow, ...fast]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
      expect(miner.difficulty).toBe(slow.includes(miner) ? POOL_DIFFICULTY : fastStart);
      told.set(miner, watch(miner));
      started.set(miner, Date.now());
      running.push(miner.hashAt(slow.includes(miner) ? SLOW_RATE : FAST_RATE, RUN_MS));
    }
    const runs = await Promise.all(running);
    clearInterval(jobs);

    // A miner's own difficulty: one share per interval at the rate it really hashed (a loaded machine hashes slower).
    const own = (run: (typeof runs)[number]) => {
      const last = run.samples.at(-1)!;
      return ((last.hashes / ((last.at - run.samples[0].at) / 1000)) * INTERVAL_S) / 2 ** 32;
    };
    const within = (difficulty: number, right: number) => difficulty < right * 2 && difficulty > right / 2;
    const verdicts = [...slow, ...fast].map((miner, i) => {
      const history = told.get(miner)!;
      const right = own(runs[i]);
      const begin = started.get(miner)!;
      const bound = begin + (i < MINERS ? 6 : 3) * INTERVAL_S * 1000;
      return {
        slow: i < MINERS,
        inTime: within(at(history, bound), right),
        atEnd: within(at(history, begin + RUN_MS), right),
        history: history.map(
          (step) => `${step.at ? ((step.at - begin) / 1000).toFixed(1) : 'start'}s: ${(step.difficulty / right).toFixed(2)}x`,
        ),
      };
    });
    // Each share is a Poisson event, so a miner misses the bound now and then: by the unit model of this
    // rule (vardiff.spec.ts), a 10x slow one in 1.7 % of runs and a 10x fast one in 0.2 %. A majority of
    // five is asked for: 3 misses of 5 happen with probability below 1e-4.
    for (const group of [true, false]) {
      const members = verdicts.filter((verdict) => verdict.slow === group);
      const report = JSON.stringify(members.map((verdict) => verdict.history));
      expect(members.filter((verdict) => verdict.inTime).length, report).toBeGreaterThanOrEqual(3);
      expect(members.filter((verdict) => verdict.atEnd).length, report).toBeGreaterThanOrEqual(3);
    }
    // Every share found was valid at the difficulty it was found at.
    for (const run of runs) expect(run.answers.filter((answer) => answer.result !== true)).toEqual([]);
    expect(pool.rejected).toEqual([]);
  }, 60_000);
});
