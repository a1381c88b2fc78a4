import { LineSplitter, LineTooLongError, looksLikeJsonLine } from './line-splitter.js';

describe('LineSplitter', () => {
  const text = '{"id":1,"method":"a"}\r\n{"id":2}\n\n{"id":3}\n';

  it('yields the same lines however TCP splits the stream', () => {
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const splitter = new LineSplitter(1024);
      const lines = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))];
      expect(lines, `cut at ${cut}`).toEqual(['{"id":1,"method":"a"}', '{"id":2}', '{"id":3}']);
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it('yields lines byte by byte, keeping multi-byte characters intact', () => {
    const splitter = new LineSplitter(64);
    const lines = [...Buffer.from('{"a":"é€"}\n')].flatMap((byte) => splitter.push(Buffer.from([byte])));
    expect(lines).toEqual(['{"a":"é€"}']);
  });

  it('refuses a line over the cap, complete or not, without buffering it', () => {
    expect(() => new LineSplitter(8).push(Buffer.from('123456789\n'))).toThrow(LineTooLongError);
    const splitter = new LineSplitter(8);
    splitter.push(Buffer.from('12345'));
    expect(() => splitter.push(Buffer.from('6789'))).toThrow(LineTooLongError);
    expect(new LineSplitter(8).push(Buffer.from('12345678\n'))).toEqual(['12345678']);
  });
});

describe('looksLikeJsonLine', () => {
  it('accepts JSON objects and rejects HTTP, TLS and binary', () => {
    expect(looksLikeJsonLine(Buffer.from(' {"id":1}'))).toBe(true);
    expect(looksLikeJsonLine(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(false);
    expect(looksLikeJsonLine(Buffer.from([0x16, 0x03, 0x01, 0x00]))).toBe(false);
    expect(looksLikeJsonLine(Buffer.from([0x00, 0xff]))).toBe(false);
    expect(looksLikeJsonLine(Buffer.from('\r\n'))).toBe(true);
  });
});
