import type { ShareHasher } from './share-hasher.js';

type X11 = { digest(input: Buffer, inputFormat: number, outputFormat: number): number[] };

// Loaded on the first X11 share, not at start: most farms never mine Dash, and it costs about 1 MiB of heap.
let loading: Promise<X11> | null = null;
const loadX11 = () => (loading ??= import('@dashevo/x11-hash-js').then((module) => (module.default ?? module) as X11));

/** Dash's X11 chain of eleven hashes, in pure JavaScript on the event loop (about 0.4 ms a share: `npm run bench:hash`). */
export const x11Hasher: ShareHasher = {
  name: 'x11',
  hash: async (header) => Buffer.from((await loadX11()).digest(header, 1, 1)),
};
