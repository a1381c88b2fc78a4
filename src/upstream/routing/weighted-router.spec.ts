import { describe, expect, it } from 'vitest';
import { RouteMove, TICKS_PER_PERIOD, WeightedRouter } from './weighted-router.js';

const PERIOD = 300_000;
const TICK = PERIOD / TICKS_PER_PERIOD;

/** A deterministic stream of uniform numbers, so share luck is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/**
 * Runs miners (work per ms) on the router for `periods`, crediting each route with the work its miners did
 * (exactly, or as shares of `shareWork` with Poisson luck), and returns each route's part of the work done
 * over the last `measured` periods, and the moves made then.
 */
function simulate(
  router: WeightedRouter,
  miners: Map<string, number>,
  options: {
    periods: number;
    measured: number;
    start?: number;
    shareWork?: number;
    seed?: number;
    onTick?: (tick: number, now: number) => void;
  },
) {
  const rand = random(options.seed ?? 7);
  let now = options.start ?? 0;
  const totalTicks = options.periods * TICKS_PER_PERIOD;
  const measureFrom = totalTicks - options.measured * TICKS_PER_PERIOD;
  const work = new Map<string, number>();
  const moves: RouteMove[] = [];
  for (let tick = 0; tick < totalTicks; tick++) {
    options.onTick?.(tick, now);
    // Each tick is walked in 10 steps, as shares arrive between decisions.
    for (let step = 0; step < 10; step++) {
      now += TICK / 10;
      for (const [miner, rate] of miners) {
        const route = router.routeOf(miner);
        if (route === null) continue;
        let done = rate * (TICK / 10);
        if (options.shareWork) {
          // Poisson shares: the count in the step, each worth shareWork.
          const expected = done / options.shareWork;
          let shares = 0;
          for (let p = Math.exp(-expected), s = p, u = rand(); u > s && shares < 10_000;) {
            shares++;
            p *= expected / shares;
            s += p;
          }
          done = shares * options.shareWork;
        }
        router.credit(route, done, now);
        if (tick >= measureFrom) work.set(route, (work.get(route) ?? 0) + done);
      }
    }
    const made = router.tick(now);
    if (tick >= measureFrom) moves.push(...made);
  }
  const total = Array.from(work.values()).reduce((a, b) => a + b, 0);
  const split = new Map(Array.from(work.entries()).map(([route, w]) => [route, w / total]));
  return { split, moves, now };
}

function joinAll(router: WeightedRouter, miners: Map<string, number>, now = 0): void {
  for (const [miner, rate] of miners) router.join(miner, now, rate);
}

describe('WeightedRouter', () => {
  it('splits one miner 80/20 by time over the period', () => {
    const router = new WeightedRouter(
      [
        { id: 'farm', weight: 80 },
        { id: 'host', weight: 20 },
      ],
      { periodMs: PERIOD },
      0,
    );
    const miners = new Map([['rig1', 100]]);
    joinAll(router, miners);
    const { split, moves } = simulate(router, miners, { periods: 6, measured: 4 });
    expect(split.get('farm')!).toBeCloseTo(0.8, 1);
    expect(Math.abs(split.get('farm')! - 0.8)).toBeLessThan(0.05);
    // Time division costs two moves per visit to the small route: about 2 per period, not one per tick.
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.length).toBeLessThanOrEqual(4 * 4);
  });

  it('splits 20 miners of 1x to 10x speed by hashrate, not by count, with few moves once settled', () => {
    const router = new WeightedRouter(
      [
        { id: 'farm', weight: 80 },
        { id: 'host', weight: 20 },
      ],
      { periodMs: PERIOD },
      0,
    );
    const miners = new Map(Array.from({ length: 20 }, (_, i) => [`rig${i}`, 10 * (1 + (i % 10))] as [string, number]));
    joinAll(router, miners);
    const { split, moves } = simulate(router, miners, { periods: 8, measured: 4 });
    expect(Math.abs(split.get('farm')! - 0.8)).toBeLessThan(0.02);
    // Settled: far fewer moves than miners x ticks (20 x 40).
    expect(moves.length).toBeLessThan(80);
  });

  it('meets the weights within 5 points with the luck of real shares', () => {
    const router = new WeightedRouter(
      [
        { id: 'a', weight: 70 },
        { id: 'b', weight: 20 },
        { id: 'c', weight: 10 },
      ],
      { periodMs: PERIOD },
      0,
    );
    const miners = new Map(Array.from({ length: 6 }, (_, i) => [`rig${i}`, 2 * (i + 1)] as [string, number]));
    joinAll(router, miners);
    // A share every ~4 s per miner on average: a few hundred shares per period in all.
    const { split } = simulate(router, miners, { periods: 10, measured: 6, shareWork: 40_000, seed: 11 });
    expect(Math.abs(split.get('a')! - 0.7)).toBeLessThan(0.05);
    expect(Math.abs(split.get('b')! - 0.2)).toBeLessThan(0.05);
    expect(Math.abs(split.get('c')! - 0.1)).toBeLessThan(0.05);
  });

  it('moves every miner off a route that goes down at once, and the split returns once it is back', () => {
    const router = new WeightedRouter(
      [
        { id: 'farm', weight: 80 },
        { id: 'host', weight: 20 },
      ],
      { periodMs: PERIOD },
      0,
    );
    const miners = new Map(Array.from({ length: 10 }, (_, i) => [`rig${i}`, 10 + i] as [string, number]));
    joinAll(router, miners);
    let { now } = simulate(router, miners, { periods: 3, measured: 1 });
    expect(Array.from(miners.keys()).some((miner) => router.routeOf(miner) === 'host')).toBe(true);

    const moves = router.setAvailable('host', false, now);
    expect(moves.length).toBeGreaterThan(0);
    expect(moves.every((move) => move.from === 'host' && move.to === 'farm')).toBe(true);
    expect(Array.from(miners.keys()).every((miner) => router.routeOf(miner) === 'farm')).toBe(true);
    // Down: nothing goes to it, whatever its deficit grows to.
    const down = simulate(router, miners, { periods: 2, measured: 2, start: now });
    expect(down.split.get('host') ?? 0).toBe(0);
    expect(down.moves).toEqual([]);
    now = down.now;

    // Back: its weight from then on, not a catch-up on the time it was down.
    router.setAvailable('host', true, now);
    const back = simulate(router, miners, { periods: 4, measured: 3, start: now });
    expect(Math.abs(back.split.get('host')! - 0.2)).toBeLessThan(0.03);
  });

  it('places a newcomer where the need is largest and forgets a miner that left', () => {
    const router = new WeightedRouter(
      [
        { id: 'farm', weight: 50 },
        { id: 'host', weight: 50 },
      ],
      { periodMs: PERIOD },
      0,
    );
    expect(router.join('a', 0, 10)).toBe('farm');
    router.credit('farm', 1000, 1);
    expect(router.join('b', 1, 10)).toBe('host');
    router.leave('a');
    expect(router.routeOf('a')).toBeNull();
    expect(router.routeOf('b')).toBe('host');
  });

  it('keeps everything on one route of weight 100 and moves nobody', () => {
    const router = new WeightedRouter([{ id: 'only', weight: 100 }], { periodMs: PERIOD }, 0);
    const miners = new Map([
      ['a', 5],
      ['b', 50],
    ]);
    joinAll(router, miners);
    const { split, moves } = simulate(router, miners, { periods: 2, measured: 2 });
    expect(split.get('only')).toBe(1);
    expect(moves).toEqual([]);
  });

  it('gives nothing to a route of weight 0 while another is up, and everything when it is the only one up', () => {
    const router = new WeightedRouter(
      [
        { id: 'main', weight: 100 },
        { id: 'spare', weight: 0 },
      ],
      { periodMs: PERIOD },
      0,
    );
    const miners = new Map([['a', 5]]);
    joinAll(router, miners);
    expect(simulate(router, miners, { periods: 2, measured: 2 }).split.get('spare') ?? 0).toBe(0);
    const moves = router.setAvailable('main', false, 2 * PERIOD + 1);
    expect(moves).toEqual([{ miner: 'a', from: 'main', to: 'spare' }]);
  });

  it('refuses routes it cannot honour', () => {
    expect(() => new WeightedRouter([], { periodMs: PERIOD }, 0)).toThrow(/at least one route/);
    expect(() => new WeightedRouter([{ id: 'a', weight: -1 }], { periodMs: PERIOD }, 0)).toThrow(/>= 0/);
    expect(
      () =>
        new WeightedRouter(
          [
            { id: 'a', weight: 1 },
            { id: 'a', weight: 2 },
          ],
          { periodMs: PERIOD },
          0,
        ),
    ).toThrow(/twice/);
    expect(() => new WeightedRouter([{ id: 'a', weight: 1 }], { periodMs: 0 }, 0)).toThrow(/positive/);
  });

  it('places the miners of a removed route on the routes that remain', () => {
    const router = new WeightedRouter(
      [
        { id: 'x', weight: 50 },
        { id: 'y', weight: 50 },
      ],
      { periodMs: PERIOD },
      0,
    );
    router.join('a', 0, 1);
    router.credit('x', 100, 1);
    router.join('b', 1, 1);
    expect(router.routeOf('b')).toBe('y');
    const moves = router.setRoutes([{ id: 'x', weight: 100 }], 2);
    expect(moves).toEqual([{ miner: 'b', from: 'y', to: 'x' }]);
  });
});
