/**
 * A miner's own difficulty, retargeted from its share rate toward one share per `shareIntervalMs`. Pure:
 * the caller passes the time and the cap (the pool's difficulty, which a miner never exceeds).
 */
export interface VardiffOptions {
  readonly shareIntervalMs: number;
  readonly minDifficulty: number;
}

/** Shares after which the rate is trusted enough to retarget at once (a fast miner settles in seconds). */
const RETARGET_SHARES = 16;
/** Intervals after which the rate is judged with whatever shares came (about 16 at the right difficulty). */
const RETARGET_INTERVALS = 16;
/** Intervals without any share after which the difficulty is surely too high (0 of 4 expected: 2 %). */
const SILENT_INTERVALS = 4;
/** Largest step up or down in one retarget, so one unlucky window cannot swing the difficulty wildly. */
const MAX_STEP = 16;
/** Rates this close to the target leave the difficulty alone (no churn of set_difficulty). */
const TOLERANCE = 1.5;

export class Vardiff {
  private windowStart: number;
  private shares = 0;
  /** Sum of the difficulties the window's shares were credited with: the work done, whatever difficulty it was found at. */
  private work = 0;

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
    if (this.shares < RETARGET_SHARES && now - this.windowStart < RETARGET_INTERVALS * this.options.shareIntervalMs) return null;
    return this.retarget(now, cap);
  }

  /** Called now and then: a miner too slow for its difficulty gets an easier one without a share. */
  onTick(now: number, cap: number): number | null {
    const intervals = (now - this.windowStart) / this.options.shareIntervalMs;
    if (intervals < RETARGET_INTERVALS && (this.shares > 0 || intervals < SILENT_INTERVALS)) return null;
    return this.retarget(now, cap);
  }

  /** Starts over from a given difficulty (the miner's suggestion, or the pool's lower cap). */
  reset(difficulty: number, now: number): void {
    this.difficulty = difficulty;
    this.windowStart = now;
    this.shares = 0;
    this.work = 0;
  }

  /** The difficulty within the bounds: at least the floor, never above the cap. */
  clamp(difficulty: number, cap: number): number {
    return Math.min(cap, Math.max(this.options.minDifficulty, difficulty));
  }

  private retarget(now: number, cap: number): number | null {
    const elapsed = Math.max(1, now - this.windowStart);
    // The miner's rate from the work it found; no share at all counts as one at the current difficulty (the
    // rate is at most that), so the step down is never too large.
    const work = this.shares > 0 ? this.work : this.difficulty;
    const ratio = (work * this.options.shareIntervalMs) / elapsed / this.difficulty;
    this.windowStart = now;
    this.shares = 0;
    this.work = 0;
    if (ratio < TOLERANCE && ratio > 1 / TOLERANCE) return null;
    const next = this.clamp(this.difficulty * Math.min(MAX_STEP, Math.max(1 / MAX_STEP, ratio)), cap);
    if (next === this.difficulty) return null;
    this.difficulty = next;
    return next;
  }
}
