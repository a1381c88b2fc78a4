import { scryptHasher } from './scrypt.hasher.js';
import type { ShareHasher } from './share-hasher.js';
import { sha256dHasher } from './sha256d.hasher.js';
import { x11Hasher } from './x11.hasher.js';

/**
 * The algorithms the proxy can check itself, by algorithm name. Adding one: a `<name>.hasher.ts` that
 * exports a ShareHasher, and an entry here. Algorithms without an entry are relayed unchecked.
 */
export const SHARE_HASHERS: ReadonlyMap<string, ShareHasher> = new Map(
  [sha256dHasher, scryptHasher, x11Hasher].map((hasher) => [hasher.name, hasher]),
);

/** The name of the placeholder algorithm of pools whose algorithm is not known yet. */
export const UNKNOWN_ALGORITHM = 'unknown';
