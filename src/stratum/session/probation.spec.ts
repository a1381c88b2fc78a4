import { Probation, PROBATION_ACCEPTED, PROBATION_AWAITING, PROBATION_REJECTS, REJECT_BURST } from './probation.js';

describe('Probation', () => {
  it(`lets ${PROBATION_AWAITING} shares await the pool's verdict at once, fewer by each reject, and closes at ${PROBATION_REJECTS} rejects`, () => {
    const probation = new Probation();
    for (let i = 0; i < PROBATION_AWAITING; i++) {
      expect(probation.mayForward).toBe(true);
      probation.forwarded();
    }
    expect(probation.mayForward).toBe(false);
    expect(probation.verdict('miner_fault')).toBeNull();
    // One slot freed, one taken by the reject: still nothing more on the shared connection.
    expect(probation.mayForward).toBe(false);
    expect(probation.verdict('not_judged')).toBeNull();
    expect(probation.mayForward).toBe(true);
    expect(probation.verdict('miner_fault')).toBeNull();
    expect(probation.verdict('miner_fault')).toMatch(/rejected 3 of its shares before accepting 8/);
  });

  it(`ends after ${PROBATION_ACCEPTED} accepted shares; then only a burst of ${REJECT_BURST} rejects in a row closes it`, () => {
    const probation = new Probation();
    for (let i = 0; i < PROBATION_ACCEPTED; i++) {
      expect(probation.onProbation).toBe(true);
      probation.forwarded();
      probation.verdict('accepted');
    }
    expect(probation.onProbation).toBe(false);
    for (let i = 0; i < 20; i++) probation.forwarded();
    expect(probation.mayForward).toBe(true);
    for (let i = 0; i < REJECT_BURST - 1; i++) expect(probation.verdict('miner_fault')).toBeNull();
    expect(probation.verdict('accepted')).toBeNull();
    expect(probation.verdict('not_judged')).toBeNull();
    for (let i = 0; i < REJECT_BURST - 1; i++) expect(probation.verdict('miner_fault')).toBeNull();
    expect(probation.verdict('miner_fault')).toBe(`the pool rejected ${REJECT_BURST} of its shares in a row`);
  });
});
