// What one pool connection may cost the proxy: a budget of notifications, jobs coalesced to a broadcast rate, a difficulty floor.
import type { PoolJob } from '../protocol/pool-messages.js';

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
