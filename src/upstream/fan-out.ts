/**
 * Spreads broadcasts (a job to every miner of every channel) over turns of the event loop: at most
 * `perTurn` deliveries, then the loop is let in, so shares that arrive meanwhile are handled between
 * slices instead of waiting behind thousands of socket writes. Deliveries keep their order.
 */
export class FanOut {
  private queue: { readonly deliver: (index: number) => void; readonly count: number; next: number }[] = [];
  /** Index of the first unfinished broadcast: thousands of channels queue one each, and shift() is O(n). */
  private head = 0;
  private scheduled = false;

  constructor(private readonly perTurn: number) {}

  /** Calls deliver(0..count-1), the first slice now and the rest in later turns. */
  run(count: number, deliver: (index: number) => void): void {
    if (count === 0) return;
    this.queue.push({ deliver, count, next: 0 });
    if (!this.scheduled) this.drain();
  }

  private drain(): void {
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
    } else {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}
