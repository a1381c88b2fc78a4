import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReconnectBackoff } from './reconnecting-pool-connection.js';

describe('ReconnectBackoff', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  /** The delays of `count` attempts in a row, as the timers fire them. */
  function delays(backoff: ReconnectBackoff, count: number): number[] {
    const waited: number[] = [];
    for (let i = 0; i < count; i++) {
      const at = Date.now();
      let opened = false;
      backoff.schedule(() => (opened = true));
      vi.runOnlyPendingTimers();
      expect(opened).toBe(true);
      waited.push(Date.now() - at);
    }
    return waited;
  }

  it('waits 1 s, doubling to 30 s, and 1 s again once up', () => {
    const backoff = new ReconnectBackoff({});
    expect(delays(backoff, 7)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    backoff.reset();
    expect(delays(backoff, 1)).toEqual([1000]);
  });

  it('waits twice as long with each flood, and what the pool asks after a reconnect request', () => {
    const backoff = new ReconnectBackoff({ initialBackoffMs: 100, maxBackoffMs: 1000 });
    backoff.afterFloods(1);
    expect(backoff.delayMs).toBe(200);
    backoff.afterFloods(3);
    expect(delays(backoff, 2)).toEqual([800, 1000]);
    backoff.waitNext(0);
    // At once, then the first delay again (not twice nothing).
    expect(delays(backoff, 2)).toEqual([0, 100]);
  });

  it('runs nothing once cancelled', () => {
    const backoff = new ReconnectBackoff({});
    const open = vi.fn();
    backoff.schedule(open);
    backoff.cancel();
    vi.runAllTimers();
    expect(open).not.toHaveBeenCalled();
  });
});
