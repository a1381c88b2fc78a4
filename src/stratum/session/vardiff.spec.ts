import { Vardiff } from './vardiff.js';

const T0 = 1_000_000;

/** Feeds a miner of `hashesPerMs` (in difficulty-1 units) with exactly the expected share times. */
function simulate(vardiff: Vardiff, rate: number, cap: number, durationMs: number): number[] {
  const history: number[] = [];
  let now = T0;
  let credit = 0;
  while (now < T0 + durationMs) {
    now += 50;
    credit += rate * 50;
    while (credit >= vardiff.difficulty) {
      credit -= vardiff.difficulty;
      const next = vardiff.onShare(now, cap, vardiff.difficulty);
      if (next !== null) history.push(next);
    }
    const next = vardiff.onTick(now, cap);
    if (next !== null) history.push(next);
  }
  return history;
}

describe('Vardiff', () => {
  const options = { shareIntervalMs: 1000, minDifficulty: 0.001 };

  it('settles a fast miner at about one share per interval, never above the cap', () => {
    const vardiff = new Vardiff(options, 1, T0);
    simulate(vardiff, 50 / 1000, 1000, 60_000); // 50 difficulty-1 shares a second
    expect(vardiff.difficulty).toBeGreaterThan(50 / 1.6);
    expect(vardiff.difficulty).toBeLessThan(50 * 1.6);
    const capped = new Vardiff(options, 1, T0);
    simulate(capped, 50 / 1000, 8, 60_000);
    expect(capped.difficulty).toBe(8);
  });

  it('lowers a slow miner without waiting for shares, by at most 16 at a time, down to the floor', () => {
    const vardiff = new Vardiff(options, 64, T0);
    const history = simulate(vardiff, 0.5 / 1000, 64, 60_000); // half a difficulty-1 share a second
    expect(history[0]).toBeGreaterThanOrEqual(64 / 16);
    expect(vardiff.difficulty).toBeGreaterThan(0.5 / 1.6);
    expect(vardiff.difficulty).toBeLessThan(0.5 * 1.6);
    const silent = new Vardiff(options, 1, T0);
    simulate(silent, 0, 64, 120_000);
    expect(silent.difficulty).toBe(0.001);
  });

  it('judges the rate by the work found, so shares still found at an old difficulty do not push it further', () => {
    const vardiff = new Vardiff(options, 1, T0);
    // A miner of 10 difficulty-1 shares a second, told 8 but still finding shares at 1 for a while.
    let next: number | null = null;
    for (let i = 1; i <= 16 && next === null; i++) next = vardiff.onShare(T0 + i * 100, 1000, 1);
    expect(next).toBeCloseTo(10, 0);
    vardiff.reset(10, T0 + 1600);
    for (let i = 1; i <= 16; i++) expect(vardiff.onShare(T0 + 1600 + i * 100, 1000, 1)).toBeNull();
  });

  it('leaves a miner near its target alone', () => {
    const vardiff = new Vardiff(options, 10, T0);
    expect(simulate(vardiff, 10 / 1000, 1000, 30_000)).toEqual([]);
    expect(vardiff.difficulty).toBe(10);
  });
});
