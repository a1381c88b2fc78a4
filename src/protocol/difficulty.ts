/** Difficulty and target math with exact BigInt arithmetic (stratum-protocol.md section 3). */

/** bdiff-1: 0x00000000ffff0000...0000 = 0xffff * 2^208. */
export const DIFF1_TARGET = 0xffffn << 208n;

const SCALE_BITS = 32n;

/** target = floor(diff1 / D); fractional difficulties are scaled to an exact ratio first. */
export function difficultyToTarget(difficulty: number): bigint {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) throw new RangeError(`invalid difficulty ${difficulty}`);
  if (Number.isInteger(difficulty) && difficulty <= Number.MAX_SAFE_INTEGER) return DIFF1_TARGET / BigInt(difficulty);
  const scaled = BigInt(Math.round(difficulty * 2 ** Number(SCALE_BITS)));
  if (scaled === 0n) return (1n << 256n) - 1n;
  const target = (DIFF1_TARGET << SCALE_BITS) / scaled;
  return target > (1n << 256n) - 1n ? (1n << 256n) - 1n : target;
}

/** The difficulty a hash achieves: diff1 / hash. */
export function hashDifficulty(hash: bigint): number {
  if (hash === 0n) return Number.POSITIVE_INFINITY;
  // Keep precision: scale before dividing, then convert.
  return Number((DIFF1_TARGET << 32n) / hash) / 2 ** 32;
}

/** The block target encoded by nbits (mantissa * 256^(exponent-3)). */
export function nbitsToTarget(nbits: string): bigint {
  const value = Number.parseInt(nbits, 16);
  const exponent = BigInt(value >>> 24);
  const mantissa = BigInt(value & 0x007fffff);
  return exponent <= 3n ? mantissa >> (8n * (3n - exponent)) : mantissa << (8n * (exponent - 3n));
}
