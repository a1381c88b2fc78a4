import { createHash } from 'node:crypto';
import { swapWords } from './hex.js';

/** The fields of a job needed to rebuild a block header (stratum-protocol.md section 2). */
export interface HeaderTemplate {
  readonly prevhash: string;
  readonly coinb1: string;
  readonly coinb2: string;
  readonly merkleBranch: readonly string[];
  readonly version: string;
  readonly nbits: string;
}

export interface ShareFields {
  readonly extranonce1: string;
  readonly extranonce2: string;
  readonly ntime: string;
  readonly nonce: string;
  /** Rolled version bits (BIP310) and the negotiated mask, when version rolling is on. */
  readonly versionBits?: string;
  readonly versionMask?: number;
}

export function sha256d(data: Buffer): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** coinbase = coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2 (hex-decoded). */
export function buildCoinbase(template: Pick<HeaderTemplate, 'coinb1' | 'coinb2'>, extranonce1: string, extranonce2: string): Buffer {
  return Buffer.from(template.coinb1 + extranonce1 + extranonce2 + template.coinb2, 'hex');
}

/** Folds the merkle branch left to right over sha256d(coinbase); no byte reversal. */
export function merkleRoot(coinbase: Buffer, branch: readonly string[]): Buffer {
  let root = sha256d(coinbase);
  for (const hash of branch) root = sha256d(Buffer.concat([root, Buffer.from(hash, 'hex')]));
  return root;
}

/** A big-endian 4-byte wire field as the little-endian header bytes. */
function le32(hex: string): Buffer {
  return Buffer.from(hex, 'hex').reverse();
}

/** The version the header carries: the job's version with the rolled bits inside the mask. */
export function rolledVersion(jobVersion: string, versionBits: string | undefined, mask: number | undefined): string {
  if (versionBits === undefined || mask === undefined) return jobVersion;
  const value = ((Number.parseInt(jobVersion, 16) & ~mask) | (Number.parseInt(versionBits, 16) & mask)) >>> 0;
  return value.toString(16).padStart(8, '0');
}

/** The 80-byte header a share hashes. */
export function buildHeader(template: HeaderTemplate, share: ShareFields): Buffer {
  const root = merkleRoot(buildCoinbase(template, share.extranonce1, share.extranonce2), template.merkleBranch);
  return Buffer.concat([
    le32(rolledVersion(template.version, share.versionBits, share.versionMask)),
    swapWords(Buffer.from(template.prevhash, 'hex')),
    root,
    le32(share.ntime),
    le32(template.nbits),
    le32(share.nonce),
  ]);
}

/** The header hash as a little-endian 256-bit integer (what is compared with a target). */
export function hashValue(hash: Buffer): bigint {
  return BigInt(`0x${Buffer.from(hash).reverse().toString('hex')}`);
}

/** A 256-bit target as 32 big-endian bytes, for fast comparisons. */
export function targetBytes(target: bigint): Buffer {
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
}

/** hash (little-endian, as sha256d returns it) <= target (big-endian bytes), without BigInt. */
export function hashMeetsTarget(hash: Buffer, target: Buffer): boolean {
  for (let i = 0; i < 32; i++) {
    const h = hash[31 - i];
    const t = target[i];
    if (h !== t) return h < t;
  }
  return true;
}
