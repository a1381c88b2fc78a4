import { StratumErrorTuple } from './errors.js';

/** A JSON-RPC id as received: echoed back with the same type and value. */
export type RpcId = number | string | null;

export interface RpcRequest {
  readonly kind: 'request';
  readonly id: RpcId;
  readonly method: string;
  readonly params: unknown;
}

export interface RpcResponse {
  readonly kind: 'response';
  readonly id: RpcId;
  readonly result: unknown;
  readonly error: unknown;
  /** ckpool's extra verdict field beside `result: false`. */
  readonly rejectReason?: unknown;
}

export type RpcMessage = RpcRequest | RpcResponse;

export class RpcParseError extends Error {
  /** The id of the message, when it had a readable one: the error answer carries it. */
  constructor(
    message: string,
    readonly id: RpcId = null,
  ) {
    super(message);
  }
}

function readId(value: unknown): RpcId {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' || typeof value === 'string') return value;
  throw new RpcParseError('id must be a number, a string or null');
}

/** Parses one line into a request or a response; throws RpcParseError for anything else. */
export function parseRpcLine(line: string): RpcMessage {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RpcParseError('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RpcParseError('not a JSON object');
  const object = value as Record<string, unknown>;
  const id = readId(object.id);
  if (typeof object.method === 'string') {
    return { kind: 'request', id, method: object.method, params: object.params ?? [] };
  }
  if ('method' in object) throw new RpcParseError('method must be a string', id);
  if ('result' in object || 'error' in object) {
    return { kind: 'response', id, result: object.result, error: object.error, rejectReason: object['reject-reason'] };
  }
  throw new RpcParseError('neither a request nor a response', id);
}

export function encodeResult(id: RpcId, result: unknown): string {
  return `{"id":${JSON.stringify(id)},"result":${JSON.stringify(result ?? null)},"error":null}\n`;
}

export function encodeError(id: RpcId, error: StratumErrorTuple): string {
  return `{"id":${JSON.stringify(id)},"result":null,"error":${JSON.stringify(error)}}\n`;
}

export function encodeRequest(id: RpcId, method: string, params: unknown): string {
  return `{"id":${JSON.stringify(id)},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}\n`;
}

/** A server push: a request with id null. */
export function encodeNotification(method: string, params: unknown): string {
  return encodeRequest(null, method, params);
}
