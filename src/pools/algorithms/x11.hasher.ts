import x11 from '@dashevo/x11-hash-js';
import type { ShareHasher } from './share-hasher.js';

/** Dash's X11 chain of eleven hashes, in pure JavaScript on the event loop (about 0.4 ms a share: `npm run bench:hash`). */
export const x11Hasher: ShareHasher = {
  name: 'x11',
  hash: (header) => Promise.resolve(Buffer.from(x11.digest(header, 1, 1) as number[])),
};
