// The ntime range pools accept for a share: never before its job's, and not far past the pool's clock.

/**
 * How far past the pool's "now" a share's ntime may be: ckpool answers "Ntime out of range" / "time too
 * new" beyond 7000 s; Bitcoin's own rule (a block at most 2 h ahead of network time) is 7200 s.
 */
export const NTIME_MAX_AHEAD_SECONDS = 7000;

/**
 * Why a share's ntime (8 hex digits, as decodeSubmit and decodeNotify check) is outside the range pools
 * accept, or null when it is inside. The pool's "now" is its job's ntime plus the seconds since the job
 * arrived: the proxy's own clock may be off, the pool's job time is what the pool judges by.
 */
export function ntimeOutOfRange(shareNtime: string, jobNtime: string, secondsSinceJob: number): string | null {
  const share = Number.parseInt(shareNtime, 16);
  const job = Number.parseInt(jobNtime, 16);
  if (share < job) return `ntime out of range: ${shareNtime} is before the job's ntime ${jobNtime}`;
  const latest = job + Math.max(0, Math.floor(secondsSinceJob)) + NTIME_MAX_AHEAD_SECONDS;
  if (share > latest) return `ntime out of range: ${shareNtime} is more than ${NTIME_MAX_AHEAD_SECONDS} s past the pool's time`;
  return null;
}
