// Proof-of-work for the simulators, independent of the proxy's hasher registry (so they check each other).
import { createHash, scryptSync } from 'node:crypto';

export type SimAlgorithm = 'sha256' | 'scrypt';

export const DIVIDER: Record<SimAlgorithm, number> = { sha256: 1, scrypt: 65536 };

export function powHash(algorithm: SimAlgorithm, header: Buffer): Buffer {
  if (algorithm === 'scrypt') return scryptSync(header, header, 32, { N: 1024, r: 1, p: 1 });
  return createHash('sha256').update(createHash('sha256').update(header).digest()).digest();
}
