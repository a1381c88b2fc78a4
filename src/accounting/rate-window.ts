/**
 * Difficulty-1 shares over sliding time windows, in fixed memory: a fine tier (36 buckets of a width chosen
 * from the speed window, 10 s for the default 5 minutes), one-minute buckets for the last hour and
 * fifteen-minute buckets for the last day, only as many tiers as the longest window asked for needs.
 * Pure: the caller passes the time.
 */
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY = 96 * QUARTER;
const FINE_BUCKETS = 36;
const MIN_FINE_BUCKET_MS = 500;
/** Bucket numbers count from here, so they fit in 32 bits for 34 years even with the finest width. */
const ORIGIN = Date.UTC(2024, 0, 1);

/** Hashes per difficulty-1 share. */
export const HASHES_PER_SHARE = 2 ** 32;

/** One tier: `count` buckets of `width` ms, stored from `offset` in the window's shared array. */
interface Tier {
  readonly width: number;
  readonly count: number;
  readonly offset: number;
  /** The newest bucket number written (a ring: older slots hold the buckets just before it). */
  head: number;
}

/** Longest window a tier can answer (one bucket is always partly in the future). */
const span = (tier: Tier) => (tier.count - 1) * tier.width;

export class RateWindow {
  private readonly tiers: readonly Tier[];
  // Every tier's buckets in one array of 32-bit floats (7 significant digits are plenty for a rate): a
  // worker holds a window or two, and a proxy thousands of workers.
  private readonly values: Float32Array;
  total = 0;

  /**
   * `fineBucketMs`: width of the finest buckets (speed window / 30 gives an error under 4 %);
   * `longestMs`: the longest window that will be asked for (a day by default).
   */
  constructor(fineBucketMs = 10_000, longestMs = DAY) {
    const fine = Math.max(MIN_FINE_BUCKET_MS, fineBucketMs);
    const tiers: Tier[] = [];
    const add = (width: number, count: number) => {
      const previous = tiers.at(-1);
      tiers.push({ width, count, offset: previous ? previous.offset + previous.count : 0, head: -Infinity });
    };
    add(fine, FINE_BUCKETS);
    if (span(tiers[0]) < longestMs && fine < MINUTE) add(MINUTE, 61);
    if (span(tiers.at(-1)!) < longestMs) add(QUARTER, 97);
    this.tiers = tiers;
    const buckets = tiers.reduce((sum, tier) => sum + tier.count, 0);
    this.values = new Float32Array(buckets);
  }

  add(value: number, now: number): void {
    this.total += value;
    for (const tier of this.tiers) {
      const bucket = Math.floor((now - ORIGIN) / tier.width);
      // Moving on: the slots of the buckets skipped since the head (at most a whole ring) start from zero.
      if (bucket > tier.head) {
        const from = Math.max(tier.head + 1, bucket - tier.count + 1);
        for (let b = from; b <= bucket; b++) this.values[tier.offset + (b % tier.count)] = 0;
        tier.head = bucket;
      }
      // A share older than the ring (a clock step back) is counted in the oldest slot that is still kept.
      const slot = Math.max(bucket, tier.head - tier.count + 1);
      this.values[tier.offset + (slot % tier.count)] += value;
    }
  }

  /**
   * The sum over the last `windowMs`, from the finest tier that reaches back that far; the oldest bucket
   * counts with the part of it inside the window, or whole when `whole` (nothing was added before).
   */
  sum(windowMs: number, now: number, whole = false): number {
    const tier = this.tiers.find((candidate) => span(candidate) >= windowMs) ?? this.tiers[this.tiers.length - 1];
    const start = now - ORIGIN - Math.min(windowMs, span(tier));
    const first = Math.max(Math.floor(start / tier.width), tier.head - tier.count + 1);
    const current = Math.min(Math.floor((now - ORIGIN) / tier.width), tier.head);
    let sum = 0;
    for (let bucket = first; bucket <= current; bucket++) {
      const value = this.values[tier.offset + (bucket % tier.count)];
      // Shares are taken as spread evenly over their bucket.
      sum += bucket === Math.floor(start / tier.width) && !whole ? (value * ((bucket + 1) * tier.width - start)) / tier.width : value;
    }
    return sum;
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
