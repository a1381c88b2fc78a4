// How far the proxy trusts a session whose shares it cannot check itself (an algorithm without a hasher,
// or --shares.validate=false) with the pool connection it shares: only as far as the pool's verdicts go.

/**
 * Shares the pool must accept before a session leaves probation: a real miner earns that within minutes at
 * the pool's difficulty, while a miner sending garbage never does.
 */
export const PROBATION_ACCEPTED = 8;
/**
 * Most of a session's shares on probation awaiting the pool's verdict, fewer by each the pool rejected: with
 * the limit of rejects below, a burst of garbage puts at most this many shares on the shared connection.
 */
export const PROBATION_AWAITING = 4;
/** Rejects that are the miner's fault, on probation, that close it: no pool bans a connection for 3. */
export const PROBATION_REJECTS = 3;
/** Rejects that are the miner's fault in a row that close a session after probation (pools ban on bursts). */
export const REJECT_BURST = 10;

/** What the pool said of a forwarded share, for trust: the miner's fault or not, or nothing (stale, pool down, timeout). */
export type PoolJudgement = 'accepted' | 'miner_fault' | 'not_judged';

/** A session's standing with the pool: on probation until PROBATION_ACCEPTED of its shares were accepted. */
export class Probation {
  private accepted = 0;
  private rejects = 0;
  private rejectsInRow = 0;
  private awaiting = 0;

  get onProbation(): boolean {
    return this.accepted < PROBATION_ACCEPTED;
  }

  /** Whether another share may go to the pool now (false: it is answered locally, not forwarded). */
  get mayForward(): boolean {
    return !this.onProbation || this.awaiting + this.rejects < PROBATION_AWAITING;
  }

  /** How many of its shares await the pool's verdict. */
  get awaitingVerdicts(): number {
    return this.awaiting;
  }

  forwarded(): void {
    this.awaiting++;
  }

  /** The pool's verdict on a forwarded share: a description of why the session must close, or null. */
  verdict(judgement: PoolJudgement): string | null {
    this.awaiting = Math.max(0, this.awaiting - 1);
    if (judgement === 'accepted') {
      this.accepted++;
      this.rejectsInRow = 0;
      return null;
    }
    if (judgement === 'not_judged') return null;
    this.rejectsInRow++;
    if (this.onProbation) {
      if (++this.rejects >= PROBATION_REJECTS)
        return `the pool rejected ${this.rejects} of its shares before accepting ${PROBATION_ACCEPTED} (probation)`;
      return null;
    }
    return this.rejectsInRow >= REJECT_BURST ? `the pool rejected ${this.rejectsInRow} of its shares in a row` : null;
  }
}
