import fc from 'fast-check';
import { StratumError } from './errors.js';
import { parseRpcLine, RpcParseError } from './json-rpc.js';
import { LineSplitter, LineTooLongError } from './line-splitter.js';
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

// Property-based tests over hostile input: nothing but the decoder's own error may escape, for any input.
const RUNS = { numRuns: 500 };

/** Values as they come out of JSON.parse, with Stratum-looking strings and arrays mixed in. */
const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.array(fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{0,80}$/), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)), {
    maxLength: 12,
  }),
);

/** Runs `decode`; the only error it may throw is `expected`. */
function onlyThrows(expected: new (...args: never[]) => Error, decode: () => unknown): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof expected)) throw error;
  }
}

describe('fuzzing the protocol layer', () => {
  it('LineSplitter: lines never hold a newline, never exceed the cap, and do not depend on how the bytes were chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 8 }), (bytes, cuts) => {
        const whole = new LineSplitter(64);
        const chunked = new LineSplitter(64);
        let wholeLines: string[] | 'too long';
        try {
          wholeLines = whole.push(Buffer.from(bytes));
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          wholeLines = 'too long';
        }
        const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
        let chunkedLines: string[] | 'too long' = [];
        let start = 0;
        try {
          for (const end of [...points, bytes.length]) {
            chunkedLines.push(...chunked.push(Buffer.from(bytes.subarray(start, end))));
            start = end;
          }
        } catch (error) {
          if (!(error instanceof LineTooLongError)) throw error;
          chunkedLines = 'too long';
        }
        if (wholeLines !== 'too long') {
          for (const line of wholeLines) {
            expect(line.includes('\n')).toBe(false);
            expect(Buffer.byteLength(line)).toBeLessThanOrEqual(64 * 3); // utf8 replacement can widen bytes
          }
        }
        // A cap is met by the same bytes whichever way they arrived; otherwise the lines are the same.
        if (wholeLines !== 'too long' && chunkedLines !== 'too long') expect(chunkedLines).toEqual(wholeLines);
      }),
      RUNS,
    );
  });

  it('parseRpcLine: any line gives a request, a response, or an RpcParseError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
          fc.object().map((value) => JSON.stringify(value)),
        ),
        (line) => {
          try {
            const message = parseRpcLine(line);
            expect(['request', 'response']).toContain(message.kind);
            if (message.kind === 'request') expect(typeof message.method).toBe('string');
            expect(message.id === null || ['number', 'string'].includes(typeof message.id)).toBe(true);
          } catch (error) {
            if (!(error instanceof RpcParseError)) throw error;
          }
        },
      ),
      RUNS,
    );
  });

  it('miner message decoders: a decoded value or a StratumError, never anything else', () => {
    fc.assert(
      fc.property(jsonish, (params) => {
        for (const decode of [decodeSubscribe, decodeAuthorize, decodeSubmit, decodeConfigure, decodeSuggestDifficulty, decodeVersionMask])
          onlyThrows(StratumError, () => decode(params));
      }),
      RUNS,
    );
  });

  it('pool message decoders: a decoded value or a PoolProtocolError, never anything else', () => {
    const current = { extranonce1: 'aabbccdd', extranonce2Size: 4 };
    fc.assert(
      fc.property(jsonish, (params) => {
        for (const decode of [decodeNotify, decodeSetDifficulty, decodeSubscribeResult, decodeSetVersionMask, decodeReconnect])
          onlyThrows(PoolProtocolError, () => decode(params));
        onlyThrows(PoolProtocolError, () => decodeSetExtranonce(params, current));
      }),
      RUNS,
    );
  });

  it('a well-formed submit always decodes, lower-cased (duplicates cannot hide behind letter case)', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${n}}$`));
    const jobId = fc.string({ minLength: 1, maxLength: 128 });
    fc.assert(
      fc.property(fc.string(), jobId, hex(8), hex(8), hex(8), (worker, job, extranonce2, ntime, nonce) => {
        const share = decodeSubmit([worker, job, extranonce2, ntime, nonce]);
        expect(share.extranonce2).toBe(extranonce2.toLowerCase());
        expect(share.ntime).toMatch(/^[0-9a-f]{8}$/);
        expect(share.nonce).toMatch(/^[0-9a-f]{8}$/);
      }),
      RUNS,
    );
  });
});
