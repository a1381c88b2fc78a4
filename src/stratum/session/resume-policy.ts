/** A session's connection silent for this long may be a half-open socket: its miner may resume from a new one. */
export const RESUME_SILENCE_MS = 30_000;

/** What the registry knows of the connection a session sits on, if any. */
export interface HeldConnection {
  readonly remoteAddress: string;
  /** When it last sent a useful message (0: never). */
  readonly lastUsefulAt: number;
  /** The peer closed its side (FIN read) even if the close has not been processed yet. */
  readonly peerEnded: boolean;
}

export type ResumeVerdict = 'resume' | 'live-elsewhere';

/**
 * Whether a new connection from `fromAddress` may take over a session: always when the session's
 * connection is gone (the legitimate reconnect), else only when that connection has been silent for
 * RESUME_SILENCE_MS and the new one comes from the same address (a miner whose old socket went half-open).
 * A live, active session is never taken from its connection, whoever knows its id.
 */
export function resumeVerdict(held: HeldConnection | null, fromAddress: string, now: number): ResumeVerdict {
  if (!held || held.peerEnded) return 'resume';
  const silentFor = now - held.lastUsefulAt;
  return held.remoteAddress === fromAddress && silentFor >= RESUME_SILENCE_MS ? 'resume' : 'live-elsewhere';
}
