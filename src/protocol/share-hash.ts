import * as crypto from 'node:crypto';
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

/** One SHA-256: node:crypto's one-shot hash where it exists (Node >= 20.12), no Hash object per call. */
const sha256: (data: Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

export function sha256d(data: Buffer): Buffer {
  return sha256(sha256(data));
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
  return buildHeaderFast(template, share) ?? buildHeaderFromHex(template, share);
}

/** The header from the hex fields as they are: the reference the fast path must match byte for byte. */
export function buildHeaderFromHex(template: HeaderTemplate, share: ShareFields): Buffer {
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

/** A job's fields as bytes, decoded once per job rather than once per share. */
interface PreparedTemplate {
  readonly coinb1: string;
  readonly coinb2: string;
  readonly prevhash: string;
  readonly version: string;
  readonly nbits: string;
  readonly branchHex: readonly string[];
  readonly coinb1Bytes: Buffer;
  readonly coinb2Bytes: Buffer;
  /** The branch hashes back to back (32 bytes each). */
  readonly branch: Buffer;
  readonly versionValue: number;
  /** version (LE, unrolled) ‖ prevhash (header order): the header's first 36 bytes. */
  readonly head: Buffer;
  readonly nbitsLe: Buffer;
}

const HEX_32 = /^[0-9a-fA-F]{64}$/;
const HEX_4 = /^[0-9a-fA-F]{8}$/;
const EVEN_HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Templates prepared so far: jobs are immutable and die with their channel, so a WeakMap keeps it bounded. */
const prepared = new WeakMap<HeaderTemplate, PreparedTemplate | null>();

/** The template's bytes; null when a field is not plain hex of the usual length (then the hex path decides). */
function prepare(template: HeaderTemplate): PreparedTemplate | null {
  const cached = prepared.get(template);
  // Fields compared too: a template object changed after it was prepared is prepared again.
  if (
    cached !== undefined &&
    (cached === null ||
      (cached.coinb1 === template.coinb1 &&
        cached.coinb2 === template.coinb2 &&
        cached.prevhash === template.prevhash &&
        cached.version === template.version &&
        cached.nbits === template.nbits &&
        sameBranch(cached.branchHex, template.merkleBranch)))
  )
    return cached;
  const { coinb1, coinb2, prevhash, version, nbits, merkleBranch } = template;
  const usable =
    EVEN_HEX.test(coinb1) &&
    EVEN_HEX.test(coinb2) &&
    HEX_32.test(prevhash) &&
    HEX_4.test(version) &&
    HEX_4.test(nbits) &&
    merkleBranch.every((hash) => HEX_32.test(hash));
  let result: PreparedTemplate | null = null;
  if (usable) {
    const versionValue = Number.parseInt(version, 16) >>> 0;
    const head = Buffer.allocUnsafe(36);
    head.writeUInt32LE(versionValue, 0);
    swapWords(Buffer.from(prevhash, 'hex')).copy(head, 4);
    result = {
      coinb1,
      coinb2,
      prevhash,
      version,
      nbits,
      branchHex: [...merkleBranch],
      coinb1Bytes: Buffer.from(coinb1, 'hex'),
      coinb2Bytes: Buffer.from(coinb2, 'hex'),
      branch: Buffer.from(merkleBranch.join(''), 'hex'),
      versionValue,
      head,
      nbitsLe: Buffer.from(nbits, 'hex').reverse(),
    };
  }
  prepared.set(template, result);
  return result;
}

function sameBranch(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Writes a 4-byte big-endian hex wire field little-endian at offset; false when it is not 8 hex digits. */
function writeLe32(target: Buffer, offset: number, hex: string): boolean {
  if (hex.length !== 8 || target.write(hex, offset, 4, 'hex') !== 4) return false;
  const b0 = target[offset];
  const b1 = target[offset + 1];
  target[offset] = target[offset + 3];
  target[offset + 1] = target[offset + 2];
  target[offset + 2] = b1;
  target[offset + 3] = b0;
  return true;
}

/** Scratch for one merkle step (root ‖ branch hash): the share path runs one share at a time. */
const merkleStep = Buffer.alloc(64);

/**
 * The header from the job's bytes decoded once: one coinbase buffer, one 64-byte scratch for the merkle
 * steps, one 80-byte header. Null when a field is not what the fast path handles (then buildHeaderFromHex).
 */
function buildHeaderFast(template: HeaderTemplate, share: ShareFields): Buffer | null {
  const job = prepare(template);
  if (!job) return null;
  const { extranonce1, extranonce2 } = share;
  if ((extranonce1.length | extranonce2.length) & 1) return null;
  const e1 = extranonce1.length / 2;
  const e2 = extranonce2.length / 2;
  const c1 = job.coinb1Bytes.length;
  const coinbase = Buffer.allocUnsafe(c1 + e1 + e2 + job.coinb2Bytes.length);
  job.coinb1Bytes.copy(coinbase, 0);
  if (coinbase.write(extranonce1, c1, e1, 'hex') !== e1) return null;
  if (coinbase.write(extranonce2, c1 + e1, e2, 'hex') !== e2) return null;
  job.coinb2Bytes.copy(coinbase, c1 + e1 + e2);
  const header = Buffer.allocUnsafe(80);
  if (!writeLe32(header, 68, share.ntime) || !writeLe32(header, 76, share.nonce)) return null;
  job.head.copy(header, 0);
  if (share.versionBits !== undefined && share.versionMask !== undefined) {
    const value = ((job.versionValue & ~share.versionMask) | (Number.parseInt(share.versionBits, 16) & share.versionMask)) >>> 0;
    header.writeUInt32LE(value, 0);
  }
  let root = sha256d(coinbase);
  for (let offset = 0; offset < job.branch.length; offset += 32) {
    root.copy(merkleStep, 0);
    job.branch.copy(merkleStep, 32, offset, offset + 32);
    root = sha256d(merkleStep);
  }
  root.copy(header, 36);
  job.nbitsLe.copy(header, 72);
  return header;
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
