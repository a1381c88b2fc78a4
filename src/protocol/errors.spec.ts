import { classifyPoolReject, StratumError } from './errors.js';

describe('classifyPoolReject', () => {
  it('reads codes first, then the words of pools that answer everything with code 20', () => {
    const kinds = [
      new StratumError(21, 'whatever'),
      new StratumError(22, 'whatever'),
      new StratumError(23, 'whatever'),
      new StratumError(20, 'Stale share'),
      new StratumError(20, 'Ntime out of range'),
      new StratumError(20, 'time too new'),
      new StratumError(20, 'Invalid time rolling'),
      new StratumError(20, 'invalid ntime'),
      new StratumError(20, 'Duplicate share'),
      new StratumError(20, 'Above target'),
      new StratumError(20, 'bad coinbase'),
    ].map(classifyPoolReject);
    expect(kinds).toEqual([
      'job_not_found',
      'duplicate',
      'low_difficulty',
      'job_not_found',
      'invalid_ntime',
      'invalid_ntime',
      'invalid_ntime',
      'invalid_ntime',
      'duplicate',
      'low_difficulty',
      'other',
    ]);
  });
});
