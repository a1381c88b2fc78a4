import { sha256d } from '../../protocol/share-hash.js';
import type { ShareHasher } from './share-hasher.js';

/** Bitcoin's double SHA-256 (node:crypto; about a microsecond, so it runs inline). */
export const sha256dHasher: ShareHasher = {
  name: 'sha256',
  hash: (header) => Promise.resolve(sha256d(header)),
  hashSync: sha256d,
};
