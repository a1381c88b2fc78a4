import { HASHES_PER_SHARE, RateWindow } from './rate-window.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);

describe('RateWindow', () => {
  it('sums what fell inside the window and forgets older buckets', () => {
    const window = new RateWindow();
    window.add(1, T0);
    window.add(2, T0 + 1 * MINUTE);
    window.add(4, T0 + 4 * MINUTE + 59_000);
    expect(window.sum(5 * MINUTE, T0 + 4 * MINUTE + 59_000)).toBe(7);
    expect(window.sum(5 * MINUTE, T0 + 5 * MINUTE)).toBe(6); // the first minute left the window
    expect(window.sum(MINUTE, T0 + 5 * MINUTE)).toBe(0);
    expect(window.sum(60 * MINUTE, T0 + 30 * MINUTE)).toBe(7);
    expect(window.sum(60 * MINUTE, T0 + 61 * MINUTE)).toBe(4); // minutes 1 and 0 left the hour
    expect(window.sum(60 * MINUTE, T0 + 65 * MINUTE)).toBe(0);
    expect(window.total).toBe(7);
  });

  it('keeps a day in quarter-hour buckets', () => {
    const window = new RateWindow();
    for (let hour = 0; hour < 24; hour++) window.add(1, T0 + hour * 60 * MINUTE);
    const now = T0 + 23 * 60 * MINUTE + 30 * MINUTE;
    expect(window.sum(24 * 60 * MINUTE, now)).toBe(24);
    expect(window.sum(12 * 60 * MINUTE, now)).toBe(12);
    expect(window.sum(24 * 60 * MINUTE, now + 24 * 60 * MINUTE)).toBe(0);
  });

  it('reuses a bucket slot for a later minute without leaking the old value', () => {
    const window = new RateWindow();
    window.add(5, T0);
    window.add(1, T0 + 60 * MINUTE); // same slot, an hour later
    expect(window.sum(MINUTE, T0 + 60 * MINUTE)).toBe(1);
  });

  it('measures a new worker over its connected time, an old one over the window', () => {
    const window = new RateWindow();
    const since = T0;
    window.add(30, T0 + 30_000);
    // Connected 60 s: 30 shares in 60 s, not in 300 s.
    expect(window.hashrate(5 * MINUTE, T0 + MINUTE, since)).toBe((HASHES_PER_SHARE * 30) / 60);
    window.add(270, T0 + 4 * MINUTE);
    expect(window.hashrate(5 * MINUTE, T0 + 10 * MINUTE, since)).toBe(0);
    expect(window.hashrate(5 * MINUTE, T0 + 4 * MINUTE + 1000, since - 10 * MINUTE)).toBe((HASHES_PER_SHARE * 300) / 300);
  });
});
