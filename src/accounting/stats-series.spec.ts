import { StatRow } from './stats-recorder.js';
import { statsSeries } from './stats.controller.js';
import { HASHES_PER_SHARE } from './rate-window.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0); // a whole hour

const row = (minute: number, oneAccepted: number, userName = 'u'): StatRow => ({
  userName,
  worker: 'rig1',
  minute,
  sent: 1,
  accepted: 1,
  rejected: 0,
  oneSent: oneAccepted,
  oneAccepted,
  oneRejected: 0,
});

/** A StatsRecorder's rows(), from a fixed list. */
const recorder = (rows: StatRow[]) => ({
  rows: async (_user: string | null, from: number, to: number) => rows.filter((r) => r.minute >= from && r.minute < to),
});

const rate = (oneShares: number, seconds: number) => (HASHES_PER_SHARE * oneShares) / seconds;

describe('statsSeries', () => {
  it('averages the step in progress over its elapsed seconds, a whole step over its length', async () => {
    // 1-minute steps, now 20 s into the third minute: 10 difficulty-1 shares in each.
    const now = T0 + 2 * MINUTE + 20_000;
    const stats = recorder([row(T0, 10), row(T0 + MINUTE, 10), row(T0 + 2 * MINUTE, 10)]);
    const series = await statsSeries(stats, 'u', null, String(T0 / 1000), undefined, '1m', now);
    expect(series.points.map((point) => point.hashrate)).toEqual([rate(10, 60), rate(10, 60), rate(10, 20)]);
  });

  it('a 15-minute step three minutes old is averaged over those three minutes, not fifteen', async () => {
    const now = T0 + 3 * MINUTE;
    const stats = recorder([row(T0, 30), row(T0 + MINUTE, 30), row(T0 + 2 * MINUTE, 30)]);
    const series = await statsSeries(stats, 'u', null, String((T0 - 15 * MINUTE) / 1000), undefined, '15m', now);
    expect(series.points).toHaveLength(2);
    expect(series.points[1].hashrate).toBeCloseTo(rate(90, 180), 6);
  });

  it('steps still to come are 0, and a range wholly in the past is averaged over whole steps', async () => {
    const now = T0 + 30_000;
    const stats = recorder([row(T0 - MINUTE, 6), row(T0, 6)]);
    const ahead = await statsSeries(stats, 'u', null, String((T0 - MINUTE) / 1000), String((T0 + 3 * MINUTE) / 1000), '1m', now);
    expect(ahead.points.map((point) => point.hashrate)).toEqual([rate(6, 60), rate(6, 30), 0, 0]);
    const past = await statsSeries(stats, 'u', null, String((T0 - MINUTE) / 1000), String(T0 / 1000), '1m', now + 3600_000);
    expect(past.points.map((point) => point.hashrate)).toEqual([rate(6, 60)]);
  });

  it('dataSince: the first minute with statistics, stored before the range or in it; null with none', async () => {
    const stats = recorder([row(T0 + 5 * MINUTE, 1)]);
    const from = String(T0 / 1000);
    const now = T0 + 10 * MINUTE;
    expect((await statsSeries(stats, 'u', null, from, undefined, '1m', now)).dataSince).toBe(new Date(T0 + 5 * MINUTE).toISOString());
    expect((await statsSeries(stats, 'u', T0 - 3 * MINUTE, from, undefined, '1m', now)).dataSince).toBe(
      new Date(T0 - 3 * MINUTE).toISOString(),
    );
    expect((await statsSeries(recorder([]), 'u', null, from, undefined, '1m', now)).dataSince).toBeNull();
  });
});
