import { createHmac, randomBytes } from 'node:crypto';

/** Keyed per process: a tag cannot be turned back into its id, even by trying every 4-byte id. */
const TAG_KEY = randomBytes(32);

/**
 * What logs and the API show for a session: a subscription id is the key to resume a session, so it
 * never appears in full outside the miner's own connection. Stable for the session's life.
 */
export function publicSessionTag(sessionId: string): string {
  return createHmac('sha256', TAG_KEY).update(sessionId).digest('hex').slice(0, 8);
}
