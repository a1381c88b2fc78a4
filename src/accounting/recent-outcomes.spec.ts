import { RecentOutcomes } from './recent-outcomes.js';

describe('RecentOutcomes', () => {
  it('counts the verdicts of the last hour by reason, and forgets older minutes', () => {
    const recent = new RecentOutcomes();
    const t0 = Date.UTC(2026, 10, 28, 12, 0, 0);
    recent.add(t0, null);
    recent.add(t0 + 1000, 'stale');
    recent.add(t0 + 30 * 60_000, null);
    recent.add(t0 + 30 * 60_000, 'low_difficulty');
    recent.add(t0 + 30 * 60_000, 'stale');
    expect(recent.summary(t0 + 30 * 60_000)).toEqual({ accepted: 2, rejected: 3, reasons: { stale: 2, low_difficulty: 1 } });
    // An hour after the first minute, it is gone; the bucket it used is reused cleanly.
    expect(recent.summary(t0 + 60 * 60_000)).toEqual({ accepted: 1, rejected: 2, reasons: { low_difficulty: 1, stale: 1 } });
    recent.add(t0 + 60 * 60_000, null);
    expect(recent.summary(t0 + 60 * 60_000 + 1)).toEqual({ accepted: 2, rejected: 2, reasons: { low_difficulty: 1, stale: 1 } });
  });
});
