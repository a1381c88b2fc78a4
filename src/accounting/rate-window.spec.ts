import { HASHES_PER_SHARE, RateWindow } from './rate-window.js';

const SECOND = 1000;
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

describe('RateWindow', () => {
  it('sums what fell inside the window and forgets what left it', () => {
    const window = new RateWindow(10 * SECOND);
    window.add(1, T0);
    window.add(2, T0 + 1 * MINUTE);
    window.add(4, T0 + 4 * MINUTE + 59_000);
    expect(window.sum(5 * MINUTE, T0 + 4 * MINUTE + 59_000)).toBe(7);
    expect(window.sum(5 * MINUTE, T0 + 5 * MINUTE + 10 * SECOND)).toBe(6); // the first share left the window
    expect(window.sum(MINUTE, T0 + 6 * MINUTE)).toBe(0);
    expect(window.sum(60 * MINUTE, T0 + 30 * MINUTE)).toBe(7);
    expect(window.sum(60 * MINUTE, T0 + 62 * MINUTE)).toBe(4); // minutes 1 and 0 left the hour
    expect(window.sum(60 * MINUTE, T0 + 66 * MINUTE)).toBe(0);
    expect(window.total).toBe(7);
  });

  it('counts the oldest bucket with the part of it inside the window', () => {
    const window = new RateWindow(10 * SECOND);
    window.add(10, T0 + 2 * SECOND); // bucket [T0, T0 + 10 s)
    window.add(3, T0 + 12 * SECOND);
    expect(window.sum(15 * SECOND, T0 + 20 * SECOND)).toBe(5 + 3); // half of the first bucket is inside
    expect(window.sum(2 * MINUTE, T0 + 20 * SECOND)).toBe(13);
  });

  it('keeps a day in quarter-hour buckets', () => {
    const window = new RateWindow();
    for (let hour = 0; hour < 24; hour++) window.add(1, T0 + hour * 60 * MINUTE);
    const now = T0 + 23 * 60 * MINUTE + 30 * MINUTE;
    expect(window.sum(24 * 60 * MINUTE, now)).toBe(24);
    expect(window.sum(12 * 60 * MINUTE, now)).toBe(12);
    expect(window.sum(24 * 60 * MINUTE, now + 24 * 60 * MINUTE)).toBe(0);
  });

  it('reuses a bucket slot for a later time without leaking the old value', () => {
    const window = new RateWindow(2 * SECOND);
    window.add(5, T0);
    window.add(1, T0 + 72 * SECOND); // same fine slot (36 buckets of 2 s) later on
    expect(window.sum(10 * SECOND, T0 + 73 * SECOND)).toBe(1);
  });

  it('measures a new worker over its connected time, an old one over the window', () => {
    const window = new RateWindow();
    const since = T0;
    window.add(30, T0 + 30_000);
    // Connected 60 s: 30 shares in 60 s, not in 300 s.
    expect(window.hashrate(5 * MINUTE, T0 + MINUTE, since)).toBe((HASHES_PER_SHARE * 30) / 60);
    window.add(270, T0 + 4 * MINUTE);
    expect(window.hashrate(5 * MINUTE, T0 + 10 * MINUTE, since)).toBe(0);
    expect(window.hashrate(5 * MINUTE, T0 + 4 * MINUTE + 1000, since - 10 * MINUTE)).toBeCloseTo((HASHES_PER_SHARE * 300) / 300, 3);
  });

  it('keeps only the tiers the longest window needs', () => {
    const short = new RateWindow(10 * SECOND, 5 * MINUTE);
    const full = new RateWindow(10 * SECOND);
    for (const window of [short, full]) {
      window.add(2, T0);
      window.add(3, T0 + 8 * MINUTE);
      expect(window.sum(5 * MINUTE, T0 + 8 * MINUTE + SECOND)).toBe(3);
    }
    // Past what the fine tier reaches (about 6 minutes), the short window keeps nothing older.
    expect(full.sum(60 * MINUTE, T0 + 8 * MINUTE + SECOND)).toBe(5);
    expect(short.sum(60 * MINUTE, T0 + 8 * MINUTE + SECOND)).toBe(3);
  });

  it('measures a steady rate within a few percent over a short window, wherever the window starts', () => {
    const window = new RateWindow((20 * SECOND) / 30);
    // One difficulty-1 share every 100 ms for a minute, read at times that fall anywhere in a bucket.
    const readings: number[] = [];
    const readAt = new Set([30_000, 45_000, 59_900]);
    for (let t = 0; t < MINUTE; t += 100) {
      window.add(1, T0 + 333 + t);
      if (readAt.has(t)) readings.push(window.hashrate(20 * SECOND, T0 + 333 + t + 17, T0) / HASHES_PER_SHARE);
    }
    expect(readings).toHaveLength(3);
    for (const rate of readings) {
      expect(rate).toBeGreaterThan(9.5);
      expect(rate).toBeLessThan(10.5);
    }
  });
});
