/**
 * Spreads broadcasts (a job to every miner of every channel) over turns of the event loop: at most
 * `perTurn` deliveries, then the loop is let in, so shares that arrive meanwhile are handled between
 * slices instead of waiting behind thousands of socket writes. Deliveries keep their order.
 */
export class FanOut {
  private readonly queue: { readonly deliver: (index: number) => void; readonly count: number; next: number }[] = [];
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
    while (budget > 0 && this.queue.length > 0) {
      const task = this.queue[0];
      const end = Math.min(task.count, task.next + budget);
      budget -= end - task.next;
      while (task.next < end) task.deliver(task.next++);
      if (task.next === task.count) this.queue.shift();
    }
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}
