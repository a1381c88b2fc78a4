import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PoolJob } from '../protocol/pool-messages.js';
import { JobCoalescer, NotifyBudget, POOL_DIFFICULTY_FLOOR } from './pool-limits.js';

const job = (jobId: string, cleanJobs = false): PoolJob => ({
  jobId,
  prevhash: '00'.repeat(32),
  coinb1: '',
  coinb2: '',
  merkleBranch: [],
  version: '20000000',
  nbits: '1d00ffff',
  ntime: '00000000',
  cleanJobs,
});

describe('NotifyBudget', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('allows a burst, then the sustained rate, and refuses beyond it', () => {
    const budget = new NotifyBudget(20, 100);
    for (let i = 0; i < 100; i++) expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    // 20 a second: one every 50 ms.
    vi.advanceTimersByTime(49);
    expect(budget.take()).toBe(false);
    vi.advanceTimersByTime(1);
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
  });

  it('never refuses a pool at 20 a second, for an hour', () => {
    const budget = new NotifyBudget(20, 100);
    for (let i = 0; i < 20 * 3600; i++) {
      expect(budget.take()).toBe(true);
      vi.advanceTimersByTime(50);
    }
  });

  it('refuses one slightly faster (25 a second) once the burst is spent: after 100 / 5 = 20 s', () => {
    const budget = new NotifyBudget(20, 100);
    let taken = 0;
    while (budget.take()) {
      taken++;
      vi.advanceTimersByTime(40);
    }
    expect(taken * 40).toBeGreaterThan(19_000);
    expect(taken * 40).toBeLessThan(21_000);
  });

  it('is full again after reset, and a rate of 0 means no limit', () => {
    const budget = new NotifyBudget(20, 3);
    for (let i = 0; i < 3; i++) budget.take();
    expect(budget.take()).toBe(false);
    budget.reset();
    expect(budget.take()).toBe(true);
    const unlimited = new NotifyBudget(0, 0);
    for (let i = 0; i < 10_000; i++) expect(unlimited.take()).toBe(true);
  });
});

describe('JobCoalescer', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('sends a job at once, then the newest of a burst once the interval is over', () => {
    const sent: PoolJob[] = [];
    const coalescer = new JobCoalescer(150, (j) => sent.push(j));
    coalescer.offer(job('1'));
    expect(sent.map((j) => j.jobId)).toEqual(['1']);
    for (let i = 2; i <= 50; i++) coalescer.offer(job(String(i)));
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(149);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent.map((j) => j.jobId)).toEqual(['1', '50']);
    expect(coalescer.coalesced).toBe(48);
  });

  it('keeps clean_jobs: a burst with any clean job goes out clean', () => {
    const sent: PoolJob[] = [];
    const coalescer = new JobCoalescer(150, (j) => sent.push(j));
    coalescer.offer(job('1'));
    coalescer.offer(job('2', true));
    coalescer.offer(job('3'));
    coalescer.offer(job('4'));
    vi.advanceTimersByTime(150);
    expect(sent[1]).toMatchObject({ jobId: '4', cleanJobs: true });
    // And a burst of unclean jobs stays unclean.
    vi.advanceTimersByTime(10);
    coalescer.offer(job('5'));
    coalescer.offer(job('6'));
    vi.advanceTimersByTime(139);
    expect(sent).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sent.map((j) => [j.jobId, j.cleanJobs])).toEqual([
      ['1', false],
      ['4', true],
      ['6', false],
    ]);
  });

  it('broadcasts at most once per interval under a flood of a job a millisecond', () => {
    const sent: PoolJob[] = [];
    const coalescer = new JobCoalescer(150, (j) => sent.push(j));
    for (let i = 0; i < 3000; i++) {
      coalescer.offer(job(String(i)));
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(150);
    // 3 s: the first at once, then one every 150 ms, and the last one waiting.
    expect(sent.length).toBeGreaterThanOrEqual(20);
    expect(sent.length).toBeLessThanOrEqual(22);
    expect(sent.at(-1)!.jobId).toBe('2999');
  });

  it('flush sends the waiting job now; discard drops it', () => {
    const sent: string[] = [];
    const coalescer = new JobCoalescer(150, (j) => sent.push(j.jobId));
    coalescer.offer(job('1'));
    coalescer.offer(job('2'));
    coalescer.flush();
    expect(sent).toEqual(['1', '2']);
    vi.advanceTimersByTime(10);
    coalescer.offer(job('3'));
    coalescer.discard();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual(['1', '2']);
  });
});

describe('POOL_DIFFICULTY_FLOOR', () => {
  it('is 4 hashes a share for sha256, below every difficulty the simulated pools use (sha256 and scrypt: 2^-20)', () => {
    expect(POOL_DIFFICULTY_FLOOR).toBe(2 ** -30);
    expect(POOL_DIFFICULTY_FLOOR * 2 ** 32).toBe(4);
    expect(POOL_DIFFICULTY_FLOOR).toBeLessThan(2 ** -20);
  });
});
