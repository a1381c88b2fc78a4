/** Stratum error codes (slush pool's list, also in ZIP 301). */
export const StratumErrorCode = {
  Other: 20,
  JobNotFound: 21,
  DuplicateShare: 22,
  LowDifficultyShare: 23,
  UnauthorizedWorker: 24,
  NotSubscribed: 25,
} as const;
export type StratumErrorCode = (typeof StratumErrorCode)[keyof typeof StratumErrorCode];

/** The wire shape we emit, the one every miner understands: `[code, message, null]`. */
export type StratumErrorTuple = [code: number, message: string, traceback: null];

export class StratumError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  toTuple(): StratumErrorTuple {
    return [this.code, this.message, null];
  }
}

/**
 * Reads an error in any shape pools send: `[code, msg, tb]`, `{code, message}`, a plain string, `true`,
 * or a `reject-reason` beside `result: false`. Returns null when there is no error.
 */
export function normalizeError(error: unknown, rejectReason?: unknown): StratumError | null {
  if (error === null || error === undefined || error === false) {
    return typeof rejectReason === 'string' ? new StratumError(StratumErrorCode.Other, rejectReason) : null;
  }
  if (Array.isArray(error)) {
    const code = Number(error[0]);
    return new StratumError(Number.isFinite(code) ? code : StratumErrorCode.Other, String(error[1] ?? 'error'));
  }
  if (typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const numeric = Number(code);
    return new StratumError(
      Number.isFinite(numeric) ? numeric : StratumErrorCode.Other,
      typeof message === 'string' ? message : JSON.stringify(error),
    );
  }
  if (typeof error === 'string') return new StratumError(StratumErrorCode.Other, error);
  return new StratumError(StratumErrorCode.Other, typeof rejectReason === 'string' ? rejectReason : 'rejected');
}

/** How a pool's rejection is counted: by code, or by the words pools that only use code 20 send. */
export type PoolRejectKind = 'job_not_found' | 'duplicate' | 'low_difficulty' | 'invalid_ntime' | 'other';

export function classifyPoolReject(error: StratumError): PoolRejectKind {
  if (error.code === StratumErrorCode.JobNotFound) return 'job_not_found';
  if (error.code === StratumErrorCode.DuplicateShare) return 'duplicate';
  if (error.code === StratumErrorCode.LowDifficultyShare) return 'low_difficulty';
  // ckpool "Ntime out of range" / "time too old|new", NOMP "ntime out of range", "Invalid time rolling".
  if (/ntime|time too (old|new)|time rolling/i.test(error.message)) return 'invalid_ntime';
  if (/stale|job not found|invalid job/i.test(error.message)) return 'job_not_found';
  if (/duplicate/i.test(error.message)) return 'duplicate';
  if (/low diff|above target|difficulty/i.test(error.message)) return 'low_difficulty';
  return 'other';
}
