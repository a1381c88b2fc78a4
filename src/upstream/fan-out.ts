/**
 * Spreads broadcasts (a job to every miner of every channel) over turns of the event loop: at most
 * `perTurn` deliveries per turn, shared by every broadcast that starts in that turn (the jobs of all
 * channels arrive together), then the loop is let in, so shares that arrive meanwhile are handled between
 * slices instead of waiting behind thousands of socket writes. Deliveries keep their order.
 */
export class FanOut {
  private queue: { readonly deliver: (index: number) => void; readonly count: number; next: number }[] = [];
  /** Index of the first unfinished broadcast: thousands of channels queue one each, and shift() is O(n). */
  private head = 0;
  /** Deliveries left in this turn of the event loop. */
  private budget: number;
  /** A next turn is booked: it restores the budget and goes on with the queue. */
  private booked = false;

  constructor(private readonly perTurn: number) {
    this.budget = perTurn;
  }

  /** Calls deliver(0..count-1): what this turn's budget allows now, the rest in later turns. */
  run(count: number, deliver: (index: number) => void): void {
    if (count === 0) return;
    this.queue.push({ deliver, count, next: 0 });
    this.drain();
  }

  private drain(): void {
    while (this.budget > 0 && this.head < this.queue.length) {
      const task = this.queue[this.head];
      const end = Math.min(task.count, task.next + this.budget);
      this.budget -= end - task.next;
      while (task.next < end) task.deliver(task.next++);
      if (task.next === task.count) this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    if (!this.booked && (this.queue.length > 0 || this.budget < this.perTurn)) {
      this.booked = true;
      setImmediate(() => {
        this.booked = false;
        this.budget = this.perTurn;
        this.drain();
      });
    }
  }
}
