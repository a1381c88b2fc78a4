/**
 * Pure conversions between SV2 extended-channel values and the SV1 shapes the rest of the proxy uses
 * (stratum-protocol.md, stratum-v2.md "Mapping onto SV1"), so a translator can feed PoolJob and
 * PoolExtranonce to the existing channel and sessions unchanged.
 */
import { difficultyToTarget, hashDifficulty } from '../difficulty.js';
import { StratumError, StratumErrorCode } from '../errors.js';
import { isHex, swapWords } from '../hex.js';
import type { PoolExtranonce, PoolJob } from '../pool-messages.js';
import type { NewExtendedMiningJob, SetNewPrevHash, SubmitSharesExtended } from './messages.js';

/** The SV1 difficulty of an SV2 target (bdiff-1 / target); a zero target is infinitely hard. */
export function targetToDifficulty(target: bigint): number {
  if (target < 0n) throw new RangeError(`negative target ${target}`);
  return hashDifficulty(target);
}

/** The SV2 target of an SV1 difficulty: floor(bdiff-1 / difficulty), as SV1 miners compute it. */
export function difficultyToSv2Target(difficulty: number): bigint {
  return difficultyToTarget(difficulty);
}

/** prev_hash (a U256 in header byte order) as mining.notify's prevhash: each 4-byte word byte-swapped. */
export function prevHashToNotify(prevHash: Uint8Array): string {
  if (prevHash.length !== 32) throw new RangeError(`prev_hash must be 32 bytes, got ${prevHash.length}`);
  return swapWords(Buffer.from(prevHash)).toString('hex');
}

/** A U32 header field (version, nbits, ntime, nonce) as SV1's 8 big-endian hex digits. */
export function u32ToHex(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`not a U32: ${value}`);
  return value.toString(16).padStart(8, '0');
}

/** SV1's 8 hex digits (ntime, nonce, version) as a U32; null when not exactly 8 hex digits. */
export function hexToU32(hex: string): number | null {
  return isHex(hex, 4) ? Number.parseInt(hex, 16) >>> 0 : null;
}

/** SV2 job ids are U32; SV1 job ids are strings: lower-case hex, parsed back by sv1JobIdToSv2. */
export function sv2JobIdToSv1(jobId: number): string {
  return jobId.toString(16);
}

export function sv1JobIdToSv2(jobId: string): number | null {
  if (!/^[0-9a-f]{1,8}$/.test(jobId)) return null;
  return Number.parseInt(jobId, 16);
}

/**
 * A job made minable by a prev hash, as a mining.notify would carry it. The pool's extranonce_prefix is
 * extranonce1 (toPoolExtranonce), so coinb1 and coinb2 are exactly the job's coinbase prefix and suffix.
 * ntime is the job's own min_ntime, or the prev hash's for a future job it activates.
 */
export function toPoolJob(job: NewExtendedMiningJob, prevHash: SetNewPrevHash, cleanJobs: boolean): PoolJob {
  return {
    jobId: sv2JobIdToSv1(job.jobId),
    prevhash: prevHashToNotify(prevHash.prevHash),
    coinb1: job.coinbaseTxPrefix.toString('hex'),
    coinb2: job.coinbaseTxSuffix.toString('hex'),
    // Both protocols carry merkle hashes as raw sha256d output, in the same order.
    merkleBranch: job.merklePath.map((hash) => Buffer.from(hash).toString('hex')),
    version: u32ToHex(job.version),
    nbits: u32ToHex(prevHash.nbits),
    ntime: u32ToHex(job.minNtime ?? prevHash.minNtime),
    cleanJobs,
  };
}

/** An extended channel's extranonce space in SV1 terms: the prefix is extranonce1, the size extranonce2's. */
export function toPoolExtranonce(extranoncePrefix: Uint8Array, extranonceSize: number): PoolExtranonce {
  return { extranonce1: Buffer.from(extranoncePrefix).toString('hex'), extranonce2Size: extranonceSize };
}

export interface Sv1ShareForSv2 {
  readonly channelId: number;
  readonly sequenceNumber: number;
  readonly jobId: number;
  /** Hex: everything after the pool's prefix (for the proxy: its session prefix and the miner's extranonce2). */
  readonly extranonce: string;
  readonly ntime: string;
  readonly nonce: string;
  /** The header's full version (rolledVersion() of share-hash.ts), as 8 hex digits. */
  readonly version: string;
}

/** An SV1 share as SubmitSharesExtended; throws RangeError on malformed hex (validated upstream already). */
export function toSubmitSharesExtended(share: Sv1ShareForSv2): SubmitSharesExtended {
  const ntime = hexToU32(share.ntime);
  const nonce = hexToU32(share.nonce);
  const version = hexToU32(share.version);
  if (ntime === null || nonce === null || version === null) throw new RangeError('ntime, nonce and version must be 8 hex digits');
  if (!isHex(share.extranonce) || share.extranonce.length > 64) throw new RangeError('extranonce must be at most 32 bytes of hex');
  return {
    type: 'SubmitSharesExtended',
    channelId: share.channelId,
    sequenceNumber: share.sequenceNumber,
    jobId: share.jobId,
    nonce,
    ntime,
    version,
    extranonce: Buffer.from(share.extranonce, 'hex'),
  };
}

/** SV2 error codes pools send for shares, mapped to the SV1 code miners understand; the text is kept as sent. */
const SHARE_ERROR_CODES: Readonly<Record<string, StratumErrorCode>> = {
  'invalid-job-id': StratumErrorCode.JobNotFound,
  'stale-share': StratumErrorCode.JobNotFound,
  'duplicate-share': StratumErrorCode.DuplicateShare,
  'difficulty-too-low': StratumErrorCode.LowDifficultyShare,
  'too-low-difficulty': StratumErrorCode.LowDifficultyShare,
  'unknown-user': StratumErrorCode.UnauthorizedWorker,
};

/**
 * A SubmitShares.Error code as the SV1 error to answer the miner with. The spec lets pools choose their own
 * strings, so unknown ones become code 20 with the pool's words (classifyPoolReject still reads them).
 */
export function sv2ShareErrorToStratum(errorCode: string): StratumError {
  return new StratumError(SHARE_ERROR_CODES[errorCode] ?? StratumErrorCode.Other, errorCode);
}
