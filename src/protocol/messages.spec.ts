import { StratumError } from './errors.js';
import {
  decodeAuthorize,
  decodeConfigure,
  decodeSubmit,
  decodeSubscribe,
  decodeSuggestDifficulty,
  decodeVersionMask,
} from './miner-messages.js';
import {
  decodeNotify,
  decodeReconnect,
  decodeSetDifficulty,
  decodeSetExtranonce,
  decodeSetVersionMask,
  decodeSubscribeResult,
  PoolProtocolError,
} from './pool-messages.js';

const H32 = 'ab'.repeat(32);
const notify = ['bf', H32, '0100', '0200', [H32], '20000000', '1a0213ef', '57ca03ae', true];

const stratumError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StratumError);
    expect((error as StratumError).code).toBe(20);
    return (error as Error).message;
  }
  throw new Error('expected a StratumError');
};

describe('miner message decoders', () => {
  it('subscribe: agent and an optional session id', () => {
    expect(decodeSubscribe(['cgminer/4.12.0', 'AE6812EB'])).toEqual({ userAgent: 'cgminer/4.12.0', sessionId: 'ae6812eb' });
    expect(decodeSubscribe([])).toEqual({ userAgent: '', sessionId: null });
    // NiceHash's timestamp+HMAC params are not session ids.
    expect(decodeSubscribe(['NiceHash/1.0', 'not hex!', 'x']).sessionId).toBeNull();
    expect(stratumError(() => decodeSubscribe('x'))).toMatch(/params must be an array/);
  });

  it('authorize: name and rig label', () => {
    expect(decodeAuthorize(['0123456789abcdef.rig.7', 'x'])).toEqual({
      login: '0123456789abcdef.rig.7',
      name: '0123456789abcdef',
      rig: 'rig.7',
    });
    expect(decodeAuthorize(['0123456789abcdef'])).toEqual({ login: '0123456789abcdef', name: '0123456789abcdef', rig: null });
    expect(stratumError(() => decodeAuthorize([5]))).toMatch(/non-empty string/);
    expect(stratumError(() => decodeAuthorize(['']))).toMatch(/non-empty string/);
  });

  it('submit: 5 or 6 params, hex checked and lower-cased', () => {
    expect(decodeSubmit(['w', 'bf', '0000000A', '504E86ED', 'B2957C02'])).toEqual({
      worker: 'w',
      jobId: 'bf',
      extranonce2: '0000000a',
      ntime: '504e86ed',
      nonce: 'b2957c02',
    });
    expect(decodeSubmit(['w', 'bf', '00', '504e86ed', 'b2957c02', '00002000']).versionBits).toBe('00002000');
    expect(stratumError(() => decodeSubmit(['w', 'bf', '00', '504e86ed']))).toMatch(/expected 5 or 6 params/);
    expect(stratumError(() => decodeSubmit(['w', 'bf', 'zz', '504e86ed', 'b2957c02']))).toMatch(/extranonce2 must be hex/);
    expect(stratumError(() => decodeSubmit(['w', 'bf', '00', '504e86', 'b2957c02']))).toMatch(/ntime/);
    expect(stratumError(() => decodeSubmit(['w', 'bf', '00', '504e86ed', 12345678]))).toMatch(/nonce/);
    expect(stratumError(() => decodeSubmit(['w', 'bf', '00', '504e86ed', 'b2957c02', 'xyz']))).toMatch(/version bits/);
    expect(stratumError(() => decodeSubmit(['w', 7, '00', '504e86ed', 'b2957c02']))).toMatch(/job_id/);
  });

  it('configure: extensions and parameters', () => {
    expect(decodeConfigure([['version-rolling'], { 'version-rolling.mask': 'ffffffff' }])).toEqual({
      extensions: ['version-rolling'],
      parameters: { 'version-rolling.mask': 'ffffffff' },
    });
    expect(stratumError(() => decodeConfigure(['version-rolling']))).toMatch(/list of extension names/);
    expect(decodeVersionMask(undefined)).toBe(0xffffffff);
    expect(decodeVersionMask('1fffe000')).toBe(0x1fffe000);
    expect(stratumError(() => decodeVersionMask('xyz'))).toMatch(/8 hex digits/);
  });

  it('suggest_difficulty: a positive number', () => {
    expect(decodeSuggestDifficulty([1024])).toBe(1024);
    expect(decodeSuggestDifficulty(['512'])).toBe(512);
    expect(stratumError(() => decodeSuggestDifficulty([-1]))).toMatch(/positive number/);
  });
});

describe('pool message decoders', () => {
  it('notify: 9 params, extra fields before clean_jobs tolerated', () => {
    expect(decodeNotify(notify)).toMatchObject({ jobId: 'bf', cleanJobs: true, merkleBranch: [H32] });
    expect(decodeNotify([...notify.slice(0, 8), 'extra', false]).cleanJobs).toBe(false);
    expect(() => decodeNotify(notify.slice(0, 8))).toThrow(PoolProtocolError);
    expect(() => decodeNotify(['bf', 'xx', ...notify.slice(2)])).toThrow(/prevhash/);
    expect(() => decodeNotify([...notify.slice(0, 4), ['zz'], ...notify.slice(5)])).toThrow(/merkle/);
  });

  it('subscribe result: nested, single pair (p2pool) and bad shapes', () => {
    expect(decodeSubscribeResult([[['mining.notify', 'ae6812eb']], '08000002', 4])).toEqual({
      extranonce1: '08000002',
      extranonce2Size: 4,
    });
    expect(decodeSubscribeResult([['mining.notify', 'x'], 'AB', 8])).toEqual({ extranonce1: 'ab', extranonce2Size: 8 });
    expect(() => decodeSubscribeResult([[], 'zz', 4])).toThrow(PoolProtocolError);
    expect(() => decodeSubscribeResult(true)).toThrow(PoolProtocolError);
  });

  it('set_difficulty, set_extranonce (with nulls), set_version_mask, reconnect', () => {
    expect(decodeSetDifficulty([4096])).toBe(4096);
    expect(decodeSetDifficulty(['0.5'])).toBe(0.5);
    expect(() => decodeSetDifficulty([0])).toThrow(PoolProtocolError);
    const current = { extranonce1: 'aa', extranonce2Size: 8 };
    expect(decodeSetExtranonce(['08000002', 4], current)).toEqual({ extranonce1: '08000002', extranonce2Size: 4 });
    expect(decodeSetExtranonce([null, 6], current)).toEqual({ extranonce1: 'aa', extranonce2Size: 6 });
    expect(decodeSetExtranonce(['bb'], current)).toEqual({ extranonce1: 'bb', extranonce2Size: 8 });
    expect(decodeSetVersionMask(['1fffe000'])).toBe(0x1fffe000);
    expect(decodeReconnect([])).toEqual({ host: null, port: null, waitSeconds: 0 });
    expect(decodeReconnect(['pool.example.com', '3333', 5])).toEqual({ host: 'pool.example.com', port: 3333, waitSeconds: 5 });
    expect(() => decodeReconnect(['h', 'x'])).toThrow(PoolProtocolError);
  });
});
