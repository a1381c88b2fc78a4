// What one pool connection may cost the proxy: a budget of notifications, jobs coalesced to a broadcast rate, a difficulty floor.
import type { PoolJob } from '../protocol/pool-messages.js';
import type { PoolProtocolErrorKind } from './pool-connection.js';

/** Defaults, documented in the README's Security section. */
export const POOL_NOTIFY_LIMITS = {
  /** Notifications (every request a pool pushes: notify, set_difficulty, ...) per second, sustained. */
  ratePerSecond: 20,
  /** How many may come at once above that rate (a reconnect or a new block sends a few together). */
  burst: 100,
  /** Shortest time between two job broadcasts of one connection; jobs in between are coalesced. */
  jobIntervalMs: 150,
} as const;

/**
 * A token bucket: `burst` notifications at once, refilled at `ratePerSecond`. A pool that empties it is
 * flooding: the connection is dropped, since parsing its lines alone would take other accounts' CPU.
 */
export class NotifyBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.at = now();
  }

  /** Counts one notification; false when it is over the budget. A rate of 0 means no limit. */
  take(): boolean {
    if (this.ratePerSecond <= 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.ratePerSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full again (a new connection). */
  reset(): void {
    this.tokens = this.burst;
    this.at = this.now();
  }
}

/**
 * Jobs of one connection reach its miners at most once per `intervalMs`: a job within the interval of the
 * last broadcast waits, and a newer one replaces it (miners only ever need the newest job). If any job
 * replaced was clean, the one broadcast is clean: the miners must still drop their old work.
 */
export class JobCoalescer {
  private pending: PoolJob | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  /** Jobs that never went out because a newer one replaced them. */
  coalesced = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly deliver: (job: PoolJob) => void,
    private readonly now: () => number = Date.now,
  ) {}

  offer(job: PoolJob): void {
    if (this.pending) {
      this.coalesced++;
      this.pending = this.pending.cleanJobs && !job.cleanJobs ? { ...job, cleanJobs: true } : job;
      return;
    }
    const wait = this.lastAt + this.intervalMs - this.now();
    if (wait <= 0) return this.send(job);
    this.pending = job;
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Delivers the waiting job now (before something that must follow it, such as a new difficulty). */
  flush(): void {
    const job = this.pending;
    this.cancel();
    if (job) this.send(job);
  }

  /** Forgets the waiting job (the connection dropped, or its extranonce changed: the job is void). */
  discard(): void {
    this.cancel();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private send(job: PoolJob): void {
    this.lastAt = this.now();
    this.deliver(job);
  }
}

/**
 * The lowest pool difficulty passed on, whatever the algorithm: 2^-30, 4 hashes a share for sha256, x11
 * and the other divider-1 algorithms. Algorithms with a larger divider (scrypt: 65536) have every hash a
 * share well above it (the simulated scrypt pools run at 2^-20), so there it only keeps the numbers sane.
 * A pool asking for less (1e-300) is given the floor: shares at it still meet the pool's target.
 */
export const POOL_DIFFICULTY_FLOOR = 2 ** -30;

export interface PoolLimitsOptions {
  /** Notifications a pool may push (per second sustained, at once) and the shortest time between two job broadcasts. */
  readonly notifyLimits?: { readonly ratePerSecond: number; readonly burst: number; readonly jobIntervalMs: number };
  /** The lowest difficulty passed on: a pool asking for less gets this (logged once, counted). */
  readonly difficultyFloor?: number;
}

/**
 * What one pool connection (SV1 or SV2) holds its pool to: the notification budget, the coalescing of its
 * jobs and the difficulty floor. What the pool does wrong is told to the owner every time (counted) and
 * logged once per connection and kind, so a pool cannot fill the log either.
 */
export class PoolLimits {
  private readonly budget: NotifyBudget;
  private readonly logged = new Set<string>();
  /** Jobs on their way to the miners, at most one broadcast per jobIntervalMs. */
  readonly jobs: JobCoalescer;
  /** Floods seen on this connection: each one doubles the wait before the next attempt. */
  floods = 0;

  constructor(
    private readonly options: PoolLimitsOptions,
    deliverJob: (job: PoolJob) => void,
    /** Logs a warning about the pool (the connection prefixes who and where). */
    private readonly warn: (text: string) => void,
    /** Tells the owner (counted as proxy_protocol_errors_total{side="pool"}). */
    private readonly report: (kind: PoolProtocolErrorKind) => void,
  ) {
    const limits = options.notifyLimits ?? POOL_NOTIFY_LIMITS;
    this.budget = new NotifyBudget(limits.ratePerSecond, limits.burst);
    this.jobs = new JobCoalescer(limits.jobIntervalMs, deliverJob);
  }

  /** A new connection: a full budget, nothing waiting. */
  reset(): void {
    this.budget.reset();
    this.jobs.discard();
  }

  /** True the first time a kind of event is seen on this connection (what a pool can trigger is logged once). */
  firstTime(kind: string): boolean {
    if (this.logged.has(kind)) return false;
    this.logged.add(kind);
    return true;
  }

  /** The pool did something wrong: counted each time, `detail` logged the first time. */
  breach(kind: PoolProtocolErrorKind, detail: string): void {
    if (this.firstTime(kind)) this.warn(`${detail}; further ones are counted, not logged`);
    this.report(kind);
  }

  /**
   * Counts one notification against the budget. False when over it: the pool is flooding (logged once,
   * counted as `flood`); the caller drops the connection, waiting longer with each flood.
   */
  admit(): boolean {
    if (this.budget.take()) return true;
    const limits = this.options.notifyLimits ?? POOL_NOTIFY_LIMITS;
    this.floods++;
    if (this.firstTime('flood'))
      this.warn(
        `sent more notifications than its budget (${limits.ratePerSecond} a second, ${limits.burst} at once): dropped; further floods are counted, not logged`,
      );
    this.report('flood');
    return false;
  }

  /** The difficulty passed on for what the pool asked: never below the floor (a lower one is counted as `low_difficulty`). */
  difficulty(asked: number): number {
    const floor = this.options.difficultyFloor ?? 0;
    if (asked >= floor) return asked;
    this.breach('low_difficulty', `asked for difficulty ${asked}, below the floor ${floor}: miners get the floor`);
    return floor;
  }
}
