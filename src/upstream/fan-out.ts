/**
 * Spreads broadcasts (a job to every miner of every channel) over turns of the event loop: at most
 * `perTurn` deliveries, then the loop is let in, so shares that arrive meanwhile are handled between
 * slices instead of waiting behind thousands of socket writes. Deliveries keep their order.
 *
 * Jobs first when the core cannot keep up: once a slice had to wait longer than `slowTurnMs` for its turn
 * (the loop is busy with shares), `holdsShares` is true until the last broadcast is out, and the miners'
 * lines wait for `released()`. A job late is hashrate spent on stale work; a share answer late costs nothing.
 */
export class FanOut {
  private queue: { readonly deliver: (index: number) => void; readonly count: number; next: number }[] = [];
  /** Index of the first unfinished broadcast: thousands of channels queue one each, and shift() is O(n). */
  private head = 0;
  private scheduled = false;
  private scheduledAt = 0;
  private holding = false;
  private holdingSince = 0;
  private release: { promise: Promise<void>; resolve: () => void } | null = null;
  /** Broadcasts that held the miners' lines back (each hold counts once). */
  holds = 0;

  constructor(
    private readonly perTurn: number,
    private readonly slowTurnMs = DEFAULT_SLOW_TURN_MS,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** True while broadcasts are behind a busy event loop: miners' lines should wait for released(). */
  get holdsShares(): boolean {
    return this.holding;
  }

  /** Resolves when no broadcast holds the miners' lines (at once when none does). */
  released(): Promise<void> {
    if (!this.holding) return Promise.resolve();
    if (!this.release) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.release = { promise, resolve };
    }
    return this.release.promise;
  }

  /** Calls deliver(0..count-1), the first slice now and the rest in later turns. */
  run(count: number, deliver: (index: number) => void): void {
    if (count === 0) return;
    this.queue.push({ deliver, count, next: 0 });
    if (!this.scheduled) this.drain();
  }

  private drain(): void {
    const now = this.now();
    if (this.scheduled && !this.holding && now - this.scheduledAt > this.slowTurnMs) {
      this.holding = true;
      this.holdingSince = now;
      this.holds++;
    } else if (this.holding && now - this.holdingSince > MAX_HOLD_MS) {
      // Broadcasts without end (a pool flooding jobs) must not stop every miner's shares: they take turns again.
      this.unhold();
    }
    this.scheduled = false;
    let budget = this.perTurn;
    while (budget > 0 && this.head < this.queue.length) {
      const task = this.queue[this.head];
      const end = Math.min(task.count, task.next + budget);
      budget -= end - task.next;
      while (task.next < end) task.deliver(task.next++);
      if (task.next === task.count) this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.unhold();
    } else {
      this.scheduled = true;
      this.scheduledAt = now;
      setImmediate(() => this.drain());
    }
  }

  private unhold(): void {
    this.holding = false;
    const release = this.release;
    this.release = null;
    release?.resolve();
  }
}

/** A slice that waited longer than this for its turn finds the loop busy with other work: jobs go first. */
export const DEFAULT_SLOW_TURN_MS = 20;
/** The longest the miners' lines wait for broadcasts at a time. */
const MAX_HOLD_MS = 1000;
