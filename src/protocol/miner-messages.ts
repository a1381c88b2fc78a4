import { StratumError, StratumErrorCode } from './errors.js';
import { isHex } from './hex.js';

/** Decoders for what miners send: positional params to named, validated fields, once, at the edge. */

const invalid = (message: string) => new StratumError(StratumErrorCode.Other, message);

function paramsArray(params: unknown, method: string): unknown[] {
  if (!Array.isArray(params)) throw invalid(`${method}: params must be an array`);
  return params;
}

export interface SubscribeRequest {
  readonly userAgent: string;
  /** The session id a reconnecting miner offers (second param), when it is a string. */
  readonly sessionId: string | null;
}

export function decodeSubscribe(params: unknown): SubscribeRequest {
  const list = paramsArray(params, 'mining.subscribe');
  const userAgent = typeof list[0] === 'string' ? list[0].slice(0, 128) : '';
  const sessionId = typeof list[1] === 'string' && /^[0-9a-fA-F]{1,16}$/.test(list[1]) ? list[1].toLowerCase() : null;
  return { userAgent, sessionId };
}

export interface AuthorizeRequest {
  readonly login: string;
  /** The registered name: the login up to the first dot. */
  readonly name: string;
  /** The part after the first dot, if any: the rig label. */
  readonly rig: string | null;
}

export function decodeAuthorize(params: unknown): AuthorizeRequest {
  const list = paramsArray(params, 'mining.authorize');
  if (typeof list[0] !== 'string' || list[0].trim() === '') throw invalid('mining.authorize: the user name must be a non-empty string');
  if (list[0].length > 256) throw invalid('mining.authorize: the user name is longer than 256 characters');
  const login = list[0].trim();
  const dot = login.indexOf('.');
  return dot === -1 ? { login, name: login, rig: null } : { login, name: login.slice(0, dot), rig: login.slice(dot + 1) || null };
}

export interface SubmitRequest {
  readonly worker: string;
  readonly jobId: string;
  readonly extranonce2: string;
  readonly ntime: string;
  readonly nonce: string;
  readonly versionBits?: string;
}

/** Checks count, types and hex; the extranonce2 length is the session's to check. */
export function decodeSubmit(params: unknown): SubmitRequest {
  const list = paramsArray(params, 'mining.submit');
  if (list.length !== 5 && list.length !== 6) throw invalid(`mining.submit: expected 5 or 6 params, got ${list.length}`);
  const [worker, jobId, extranonce2, ntime, nonce, versionBits] = list;
  if (typeof worker !== 'string') throw invalid('mining.submit: worker must be a string');
  if (typeof jobId !== 'string' || jobId === '' || jobId.length > 128) throw invalid('mining.submit: job_id must be a non-empty string');
  if (!isHex(extranonce2) || extranonce2.length === 0) throw invalid('mining.submit: extranonce2 must be hex');
  if (!isHex(ntime, 4)) throw invalid('mining.submit: ntime must be 8 hex digits');
  if (!isHex(nonce, 4)) throw invalid('mining.submit: nonce must be 8 hex digits');
  if (versionBits !== undefined && !isHex(versionBits, 4)) throw invalid('mining.submit: version bits must be 8 hex digits');
  // Lower-case so duplicates cannot hide behind letter case.
  return {
    worker,
    jobId,
    extranonce2: extranonce2.toLowerCase(),
    ntime: ntime.toLowerCase(),
    nonce: nonce.toLowerCase(),
    ...(versionBits === undefined ? {} : { versionBits: (versionBits as string).toLowerCase() }),
  };
}

export interface ConfigureRequest {
  readonly extensions: readonly string[];
  readonly parameters: Readonly<Record<string, unknown>>;
}

export function decodeConfigure(params: unknown): ConfigureRequest {
  const list = paramsArray(params, 'mining.configure');
  if (!Array.isArray(list[0]) || !list[0].every((item) => typeof item === 'string')) {
    throw invalid('mining.configure: the first param must be a list of extension names');
  }
  const parameters = list[1] ?? {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw invalid('mining.configure: the second param must be an object');
  }
  return { extensions: list[0] as string[], parameters: parameters as Record<string, unknown> };
}

/** A version-rolling mask from configure params: 8 hex digits, default ffffffff (BIP310). */
export function decodeVersionMask(value: unknown): number {
  if (value === undefined) return 0xffffffff;
  if (!isHex(value, 4)) throw invalid('mining.configure: version-rolling.mask must be 8 hex digits');
  return Number.parseInt(value, 16) >>> 0;
}

export function decodeSuggestDifficulty(params: unknown): number {
  const list = paramsArray(params, 'mining.suggest_difficulty');
  const value = typeof list[0] === 'string' ? Number(list[0]) : list[0];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw invalid('mining.suggest_difficulty: expected a positive number');
  return value;
}

export const maskHex = (mask: number): string => (mask >>> 0).toString(16).padStart(8, '0');
