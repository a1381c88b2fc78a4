import { normalizeError, StratumError } from './errors.js';
import { encodeError, encodeNotification, encodeResult, parseRpcLine, RpcParseError } from './json-rpc.js';

describe('parseRpcLine', () => {
  it('reads requests with numeric, string and missing ids', () => {
    expect(parseRpcLine('{"id":1,"method":"mining.subscribe","params":["a"]}')).toEqual({
      kind: 'request',
      id: 1,
      method: 'mining.subscribe',
      params: ['a'],
    });
    expect(parseRpcLine('{"id":"xnsub","method":"mining.extranonce.subscribe","params":[]}')).toMatchObject({ id: 'xnsub' });
    expect(parseRpcLine('{"method":"mining.notify","params":[]}')).toMatchObject({ kind: 'request', id: null });
    expect(parseRpcLine('{"id":1,"method":"x"}')).toMatchObject({ params: [] });
  });

  it('reads responses, including ckpool reject-reason', () => {
    expect(parseRpcLine('{"id":4,"result":false,"error":null,"reject-reason":"Above target"}')).toEqual({
      kind: 'response',
      id: 4,
      result: false,
      error: null,
      rejectReason: 'Above target',
    });
  });

  it('rejects what is not a JSON-RPC object', () => {
    for (const line of ['nope', '[1,2]', '"text"', '{"id":1}', '{"id":{},"method":"x"}', 'null']) {
      expect(() => parseRpcLine(line), line).toThrow(RpcParseError);
    }
  });
});

describe('encoders', () => {
  it('echo the id with its JSON type and end with a newline', () => {
    expect(encodeResult('7', true)).toBe('{"id":"7","result":true,"error":null}\n');
    expect(encodeError(3, [21, 'Job not found', null])).toBe('{"id":3,"result":null,"error":[21,"Job not found",null]}\n');
    expect(encodeNotification('mining.set_difficulty', [2])).toBe('{"id":null,"method":"mining.set_difficulty","params":[2]}\n');
  });
});

describe('normalizeError', () => {
  it('accepts every error shape pools send', () => {
    expect(normalizeError([23, 'Low difficulty share', null])).toEqual(new StratumError(23, 'Low difficulty share'));
    expect(normalizeError({ code: -1, message: 'Job not found' })).toEqual(new StratumError(-1, 'Job not found'));
    expect(normalizeError('Invalid job_id')).toEqual(new StratumError(20, 'Invalid job_id'));
    expect(normalizeError(null, 'Above target')).toEqual(new StratumError(20, 'Above target'));
    expect(normalizeError(true)?.code).toBe(20);
    expect(normalizeError(null)).toBeNull();
    expect(normalizeError(undefined)).toBeNull();
  });
});
