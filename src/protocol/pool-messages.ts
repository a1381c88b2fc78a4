import { isHex } from './hex.js';

/** Decoders for what pools send. They tolerate the quirks real pools have (stratum-protocol.md section 6). */

export class PoolProtocolError extends Error {}

/** A job as the pool sent it (wire forms). */
export interface PoolJob {
  readonly jobId: string;
  readonly prevhash: string;
  readonly coinb1: string;
  readonly coinb2: string;
  readonly merkleBranch: readonly string[];
  readonly version: string;
  readonly nbits: string;
  readonly ntime: string;
  readonly cleanJobs: boolean;
}

export function decodeNotify(params: unknown): PoolJob {
  if (!Array.isArray(params) || params.length < 9) throw new PoolProtocolError('mining.notify: expected 9 params');
  const [jobId, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime] = params;
  // Some pools insert extra fields before clean_jobs: it is the last param.
  const clean = params[params.length - 1];
  if (typeof jobId !== 'string' && typeof jobId !== 'number') throw new PoolProtocolError('mining.notify: bad job_id');
  if (!isHex(prevhash, 32)) throw new PoolProtocolError('mining.notify: prevhash must be 64 hex digits');
  if (!isHex(coinb1) || !isHex(coinb2)) throw new PoolProtocolError('mining.notify: coinbase parts must be hex');
  if (!Array.isArray(merkleBranch) || !merkleBranch.every((hash) => isHex(hash, 32))) {
    throw new PoolProtocolError('mining.notify: merkle branch must be a list of 64-hex hashes');
  }
  for (const [name, value] of [
    ['version', version],
    ['nbits', nbits],
    ['ntime', ntime],
  ] as const) {
    if (!isHex(value, 4)) throw new PoolProtocolError(`mining.notify: ${name} must be 8 hex digits`);
  }
  return {
    jobId: String(jobId),
    prevhash: (prevhash as string).toLowerCase(),
    coinb1: (coinb1 as string).toLowerCase(),
    coinb2: (coinb2 as string).toLowerCase(),
    merkleBranch: (merkleBranch as string[]).map((hash) => hash.toLowerCase()),
    version: (version as string).toLowerCase(),
    nbits: (nbits as string).toLowerCase(),
    ntime: (ntime as string).toLowerCase(),
    cleanJobs: clean === true,
  };
}

export function decodeSetDifficulty(params: unknown): number {
  const value = Array.isArray(params) ? params[0] : undefined;
  const difficulty = typeof value === 'string' ? Number(value) : value;
  if (typeof difficulty !== 'number' || !Number.isFinite(difficulty) || difficulty <= 0) {
    throw new PoolProtocolError('mining.set_difficulty: expected a positive number');
  }
  return difficulty;
}

export interface PoolExtranonce {
  readonly extranonce1: string;
  readonly extranonce2Size: number;
}

function decodeExtranonce(extranonce1: unknown, size: unknown, what: string): PoolExtranonce {
  if (!isHex(extranonce1)) throw new PoolProtocolError(`${what}: extranonce1 must be hex`);
  const extranonce2Size = Number(size);
  if (!Number.isInteger(extranonce2Size) || extranonce2Size < 1 || extranonce2Size > 32) {
    throw new PoolProtocolError(`${what}: extranonce2 size must be an integer from 1 to 32`);
  }
  return { extranonce1: extranonce1.toLowerCase(), extranonce2Size };
}

/** `[[[method, id], ...] | [method, id], extranonce1, extranonce2_size]` (p2pool sends a single pair). */
export function decodeSubscribeResult(result: unknown): PoolExtranonce {
  if (!Array.isArray(result) || result.length < 3) throw new PoolProtocolError('mining.subscribe: unexpected result');
  return decodeExtranonce(result[1], result[2], 'mining.subscribe');
}

/** `[extranonce1, size]`; either may be null to keep the old value (bfgminer's reading). */
export function decodeSetExtranonce(params: unknown, current: PoolExtranonce): PoolExtranonce {
  if (!Array.isArray(params) || params.length < 1) throw new PoolProtocolError('mining.set_extranonce: expected params');
  return decodeExtranonce(params[0] ?? current.extranonce1, params[1] ?? current.extranonce2Size, 'mining.set_extranonce');
}

export function decodeSetVersionMask(params: unknown): number {
  const value = Array.isArray(params) ? params[0] : undefined;
  if (!isHex(value, 4)) throw new PoolProtocolError('mining.set_version_mask: expected 8 hex digits');
  return Number.parseInt(value, 16) >>> 0;
}

export interface ReconnectRequest {
  readonly host: string | null;
  readonly port: number | null;
  readonly waitSeconds: number;
}

/** `[host?, port?, wait?]`; port may be a string (cgminer accepts both). */
export function decodeReconnect(params: unknown): ReconnectRequest {
  const list = Array.isArray(params) ? params : [];
  const host = typeof list[0] === 'string' && list[0] !== '' ? list[0] : null;
  const port = list[1] === undefined || list[1] === null || list[1] === '' ? null : Number(list[1]);
  if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new PoolProtocolError('client.reconnect: bad port');
  const wait = Number(list[2] ?? 0);
  return { host, port, waitSeconds: Number.isFinite(wait) && wait > 0 ? Math.min(wait, 300) : 0 };
}
