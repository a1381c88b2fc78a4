/**
 * Difficulty-1 shares over sliding time windows, in fixed memory: one-minute buckets for the last hour and
 * fifteen-minute buckets for the last day. Pure: the caller passes the time.
 */
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const MINUTE_BUCKETS = 60;
const QUARTER_BUCKETS = 96;

/** Hashes per difficulty-1 share. */
export const HASHES_PER_SHARE = 2 ** 32;

export class RateWindow {
  private readonly minutes = new Float64Array(MINUTE_BUCKETS);
  // Minutes and quarter-hours since 1970 fit in 32 bits until the year 6053.
  private readonly minuteIndex = new Int32Array(MINUTE_BUCKETS).fill(-1);
  private readonly quarters = new Float64Array(QUARTER_BUCKETS);
  private readonly quarterIndex = new Int32Array(QUARTER_BUCKETS).fill(-1);
  total = 0;

  add(value: number, now: number): void {
    this.total += value;
    const minute = Math.floor(now / MINUTE);
    const m = minute % MINUTE_BUCKETS;
    if (this.minuteIndex[m] !== minute) {
      this.minuteIndex[m] = minute;
      this.minutes[m] = 0;
    }
    this.minutes[m] += value;
    const quarter = Math.floor(now / QUARTER);
    const q = quarter % QUARTER_BUCKETS;
    if (this.quarterIndex[q] !== quarter) {
      this.quarterIndex[q] = quarter;
      this.quarters[q] = 0;
    }
    this.quarters[q] += value;
  }

  /**
   * The sum over the last `windowMs` (the current bucket included). Windows up to an hour use minute
   * buckets, longer ones quarter-hour buckets.
   */
  sum(windowMs: number, now: number): number {
    const [values, index, size, count] =
      windowMs <= MINUTE_BUCKETS * MINUTE
        ? [this.minutes, this.minuteIndex, MINUTE, MINUTE_BUCKETS]
        : [this.quarters, this.quarterIndex, QUARTER, QUARTER_BUCKETS];
    const current = Math.floor(now / size);
    const oldest = current - Math.min(count, Math.ceil(windowMs / size)) + 1;
    let sum = 0;
    for (let i = 0; i < count; i++) if (index[i] >= oldest && index[i] <= current) sum += values[i];
    return sum;
  }

  /**
   * Hashes per second over the window: 2^32 * shares / seconds, where the seconds are the window, or the
   * time since `since` when that is shorter (a new worker is not diluted over a window it was not in).
   */
  hashrate(windowMs: number, now: number, since: number): number {
    const seconds = Math.max(1, Math.min(windowMs, now - since)) / 1000;
    return (HASHES_PER_SHARE * this.sum(windowMs, now)) / seconds;
  }
}
