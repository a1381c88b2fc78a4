import { setFlagsFromString } from 'node:v8';

/**
 * Loading Nest, TypeORM and the drivers allocates tens of MiB that nearly all survive, which V8 takes as a
 * reason to double its young generation after each scavenge up to the maximum, 16 MiB a semi-space: 32 MiB
 * of an idle proxy's resident memory that nothing at rest uses and that V8 never gives back by itself. Held
 * at its initial size while the modules load (the flag is read at each growth, so it can change at run time),
 * and let grow again once the proxy listens, as the miners' load asks.
 */
function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

/** V8's default: the young generation doubles when scavenges find most of it alive. */
export function releaseYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=2');
}

holdYoungGeneration();
