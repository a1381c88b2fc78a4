/**
 * A miner's own difficulty, retargeted from its share rate toward one share per `shareIntervalMs`. Pure:
 * the caller passes the time and the cap (the pool's difficulty, which a miner never exceeds).
 *
 * At the right difficulty a miner's shares are a Poisson process of one per interval, so after `t` the count
 * is Poisson with mean λ = t / interval. The difficulty changes when the count seen (in shares of the
 * current difficulty: the work found divided by it) would be that unlikely at the current difficulty, in
 * either direction; the new difficulty is what the work seen says the miner's rate is (its median, or its
 * lower quartile when leaving the starting guess downward: a difficulty too low shows itself within seconds,
 * by many shares, one too high only after minutes).
 */
export interface VardiffOptions {
  readonly shareIntervalMs: number;
  readonly minDifficulty: number;
}

/**
 * How unlikely the count must be to leave the starting difficulty (the pool's, or the miner's suggestion):
 * it is a guess, unrelated to the miner, so it is left at the first fair evidence (a 10x slow miner at the
 * default 10 s interval moves after 20 to 50 s; a miner that happens to be right there moves with it
 * about one time in six, and comes back).
 */
const GUESS_UNLIKELIHOOD = 0.1;
/** Shares at the starting difficulty after which it is no longer a guess but as good as one set from shares. */
const GUESS_SHARES = 3;
/**
 * How unlikely the count must be to leave a difficulty set from the miner's shares (or a starting one that
 * held): 1 in 10,000, judged continuously, so a miner at its difficulty keeps it for hours.
 */
const SETTLED_UNLIKELIHOOD = 1e-4;
/** A step up waits for this many shares, so that the new difficulty is within a factor of 2 of the rate (98 %). */
const UP_SHARES = 12;
/** Intervals after which a window that showed nothing starts over, so the rate judged is a recent one. */
const WINDOW_INTERVALS = 60;
/** Largest step up or down in one retarget, so one unlucky window cannot swing the difficulty wildly. */
const MAX_STEP = 16;
/** Estimates this close to the current difficulty leave it alone (no churn of set_difficulty). */
const TOLERANCE = 1.5;
/** Standard normal quantiles of the median and the lower quartile (for rateQuantile). */
const MEDIAN = 0;
const LOWER_QUARTILE = -0.6745;

export class Vardiff {
  private windowStart: number;
  private shares = 0;
  /** Sum of the difficulties the window's shares were credited with: the work done, whatever difficulty it was found at. */
  private work = 0;
  /** The difficulty is still the starting guess: no share-based retarget yet, and fewer than GUESS_SHARES seen at it. */
  private guess = true;
  /** Shares seen at the starting difficulty in earlier windows. */
  private guessShares = 0;

  constructor(
    private readonly options: VardiffOptions,
    /** The miner's difficulty now. */
    public difficulty: number,
    now: number,
  ) {
    this.windowStart = now;
  }

  /**
   * A valid share, credited with `difficulty` (the one its job was issued under: after a change the miner
   * still finds shares at the old one until its next job). Returns the new difficulty when it changes.
   */
  onShare(now: number, cap: number, difficulty: number): number | null {
    this.shares++;
    this.work += difficulty;
    return this.judge(now, cap);
  }

  /** Called now and then: a miner too slow for its difficulty gets an easier one without a share. */
  onTick(now: number, cap: number): number | null {
    return this.judge(now, cap);
  }

  /** Starts over from a given difficulty (the miner's suggestion, or the pool's lower cap): a new guess. */
  reset(difficulty: number, now: number): void {
    this.difficulty = difficulty;
    this.startWindow(now);
    this.guess = true;
    this.guessShares = 0;
  }

  /** The difficulty within the bounds: at least the floor, never above the cap. */
  clamp(difficulty: number, cap: number): number {
    return Math.min(cap, Math.max(this.options.minDifficulty, difficulty));
  }

  private judge(now: number, cap: number): number | null {
    const elapsed = now - this.windowStart;
    if (elapsed <= 0) return null;
    const expected = elapsed / this.options.shareIntervalMs;
    // Shares found at an older difficulty (before the miner's next job) count for the work they carry.
    const seen = this.work / this.difficulty;
    if (this.guess && this.guessShares + this.shares >= GUESS_SHARES) this.guess = false;
    const unlikely = this.guess ? GUESS_UNLIKELIHOOD : SETTLED_UNLIKELIHOOD;
    // Rounded the cautious way: a fraction of a share never tips the test.
    const tooFew = seen < expected && poissonAtMost(Math.ceil(seen - 1e-9), expected) < unlikely;
    const tooMany = seen > expected && this.shares >= UP_SHARES && poissonAtLeast(Math.floor(seen + 1e-9), expected) < unlikely;
    if (!tooFew && !tooMany) {
      if (expected >= WINDOW_INTERVALS) this.startWindow(now);
      return null;
    }
    const ratio = rateQuantile(seen, tooFew && this.guess ? LOWER_QUARTILE : MEDIAN) / expected;
    if (ratio < TOLERANCE && ratio > 1 / TOLERANCE) {
      if (expected >= WINDOW_INTERVALS) this.startWindow(now);
      return null;
    }
    this.startWindow(now);
    this.guess = false;
    const next = this.clamp(this.difficulty * Math.min(MAX_STEP, Math.max(1 / MAX_STEP, ratio)), cap);
    if (next === this.difficulty) return null;
    this.difficulty = next;
    return next;
  }

  private startWindow(now: number): void {
    if (this.guess) this.guessShares += this.shares;
    this.windowStart = now;
    this.shares = 0;
    this.work = 0;
  }
}

/**
 * A quantile of the rate, in shares per window, after `count` shares: of the Gamma(count) posterior (a prior
 * even across orders of magnitude of hashrate), with no share at all counting as half a share. `z` is the
 * quantile's standard normal one; Wilson-Hilferty's approximation, within a few % from half a share up.
 */
function rateQuantile(count: number, z: number): number {
  const shape = Math.max(count, 0.5);
  return shape * Math.max(0, 1 - 1 / (9 * shape) + z / (3 * Math.sqrt(shape))) ** 3;
}

/** ln(n!), exact below 20, else Stirling's series (error below 1e-12). */
function logFactorial(n: number): number {
  if (n < 20) {
    let sum = 0;
    for (let i = 2; i <= n; i++) sum += Math.log(i);
    return sum;
  }
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** P(N = k) for N Poisson with mean `mean`. */
function poissonTerm(k: number, mean: number): number {
  return Math.exp(k * Math.log(mean) - mean - logFactorial(k));
}

/** P(N <= k) for k below the mean: summed from k down, where the terms shrink fast. */
export function poissonAtMost(k: number, mean: number): number {
  if (k < 0) return 0;
  let term = poissonTerm(k, mean);
  let sum = term;
  for (let i = k; i > 0 && term > sum * 1e-16; i--) {
    term *= i / mean;
    sum += term;
  }
  return Math.min(1, sum);
}

/** P(N >= k) for k above the mean: summed from k up, where the terms shrink fast. */
export function poissonAtLeast(k: number, mean: number): number {
  if (k <= 0) return 1;
  let term = poissonTerm(k, mean);
  let sum = term;
  for (let i = k + 1; term > sum * 1e-16; i++) {
    term *= mean / i;
    sum += term;
  }
  return Math.min(1, sum);
}
