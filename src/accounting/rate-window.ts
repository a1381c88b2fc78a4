/**
 * Difficulty-1 shares over sliding time windows, in fixed memory: a fine tier (36 buckets of a width chosen
 * from the speed window, 10 s for the default 5 minutes), one-minute buckets for the last hour and
 * fifteen-minute buckets for the last day. Pure: the caller passes the time.
 */
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const FINE_BUCKETS = 36;
const MIN_FINE_BUCKET_MS = 500;
/** Bucket numbers count from here, so they fit in 32 bits for 34 years even with the finest width. */
const ORIGIN = Date.UTC(2024, 0, 1);

/** Hashes per difficulty-1 share. */
export const HASHES_PER_SHARE = 2 ** 32;

/** One tier of buckets: value and the bucket number (time / width) it holds. */
class Tier {
  private readonly values: Float64Array;
  private readonly index: Int32Array;

  constructor(
    readonly width: number,
    readonly count: number,
  ) {
    this.values = new Float64Array(count);
    this.index = new Int32Array(count).fill(-1);
  }

  /** Longest window this tier can answer (one bucket is always partly in the future). */
  get span(): number {
    return (this.count - 1) * this.width;
  }

  add(value: number, now: number): void {
    const bucket = Math.floor((now - ORIGIN) / this.width);
    const i = bucket % this.count;
    if (this.index[i] !== bucket) {
      this.index[i] = bucket;
      this.values[i] = 0;
    }
    this.values[i] += value;
  }

  /**
   * The sum over (now - windowMs, now]; the oldest bucket counts with the part of it inside the window, or
   * whole when `whole` (nothing was added before the window started).
   */
  sum(windowMs: number, now: number, whole = false): number {
    const start = now - ORIGIN - windowMs;
    const first = Math.floor(start / this.width);
    const current = Math.floor((now - ORIGIN) / this.width);
    let sum = 0;
    for (let i = 0; i < this.count; i++) {
      const bucket = this.index[i];
      if (bucket < first || bucket > current) continue;
      // Shares are taken as spread evenly over their bucket.
      sum += bucket === first && !whole ? (this.values[i] * ((first + 1) * this.width - start)) / this.width : this.values[i];
    }
    return sum;
  }
}

export class RateWindow {
  private readonly tiers: readonly Tier[];
  total = 0;

  /** `fineBucketMs`: width of the finest buckets (speed window / 30 gives an error under 4 %). */
  constructor(fineBucketMs = 10_000) {
    const fine = Math.max(MIN_FINE_BUCKET_MS, fineBucketMs);
    const tiers = [new Tier(fine, FINE_BUCKETS)];
    if (fine < MINUTE) tiers.push(new Tier(MINUTE, 61));
    tiers.push(new Tier(QUARTER, 97));
    this.tiers = tiers;
  }

  add(value: number, now: number): void {
    this.total += value;
    for (const tier of this.tiers) tier.add(value, now);
  }

  /** The sum over the last `windowMs`, from the finest tier that reaches back that far. */
  sum(windowMs: number, now: number, whole = false): number {
    const tier = this.tiers.find((candidate) => candidate.span >= windowMs) ?? this.tiers[this.tiers.length - 1];
    return tier.sum(Math.min(windowMs, tier.span), now, whole);
  }

  /**
   * Hashes per second over the window: 2^32 * shares / seconds, where the seconds are the window, or the
   * time since `since` when that is shorter (a new worker is not diluted over a window it was not in).
   */
  hashrate(windowMs: number, now: number, since: number): number {
    const window = Math.max(1000, Math.min(windowMs, now - since));
    // A window cut short by `since` holds everything there is: its first bucket counts whole.
    return (HASHES_PER_SHARE * this.sum(window, now, window < windowMs)) / (window / 1000);
  }
}
