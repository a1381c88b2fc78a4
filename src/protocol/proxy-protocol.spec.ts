import fc from 'fast-check';
import { parseProxyHeader } from './proxy-protocol.js';

const v2 = (command: number, family: number, body: number[]) =>
  Buffer.from([
    0x0d,
    0x0a,
    0x0d,
    0x0a,
    0x00,
    0x0d,
    0x0a,
    0x51,
    0x55,
    0x49,
    0x54,
    0x0a,
    0x20 | command,
    family,
    body.length >> 8,
    body.length & 255,
    ...body,
  ]);

describe('PROXY protocol headers', () => {
  it('reads v1 TCP4, TCP6 and UNKNOWN, with the bytes that follow left alone', () => {
    const header = 'PROXY TCP4 203.0.113.7 10.0.0.1 51234 3333\r\n';
    expect(parseProxyHeader(Buffer.from(`${header}{"id":1}`))).toEqual({
      kind: 'header',
      length: header.length,
      source: { address: '203.0.113.7', port: 51234 },
    });
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 4000 3333\r\n'))).toMatchObject({
      source: { address: '2001:db8::7', port: 4000 },
    });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ kind: 'header', length: 15, source: null });
  });

  it('reads v2 PROXY over IPv4 and IPv6, and LOCAL', () => {
    const ipv4 = v2(1, 0x11, [198, 51, 100, 9, 10, 0, 0, 1, 0xc8, 0x2f, 0x0d, 0x05]);
    expect(parseProxyHeader(Buffer.concat([ipv4, Buffer.from('{')]))).toEqual({
      kind: 'header',
      length: 28,
      source: { address: '198.51.100.9', port: 0xc82f },
    });
    const ipv6 = v2(1, 0x21, [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7, ...Array(16).fill(0), 0, 80, 0x0d, 0x05]);
    expect(parseProxyHeader(ipv6)).toMatchObject({ source: { address: '2001:db8:0:0:0:0:0:7', port: 80 } });
    expect(parseProxyHeader(v2(0, 0, []))).toEqual({ kind: 'header', length: 16, source: null });
  });

  it('waits for more bytes, and refuses what is not a PROXY header', () => {
    expect(parseProxyHeader(Buffer.from('PROX'))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4'))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(v2(1, 0x11, [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2]).subarray(0, 20))).toEqual({ kind: 'incomplete' });
    expect(parseProxyHeader(Buffer.from('{"id":1,"method":"mining.subscribe"}\n'))).toMatchObject({ kind: 'invalid' });
    expect(parseProxyHeader(Buffer.from('PROXY TCP4 999.1 x y z\r\n'))).toMatchObject({ kind: 'invalid' });
    expect(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`))).toMatchObject({ kind: 'invalid' });
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, signed) => {
        const data = signed
          ? Buffer.concat([Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]), bytes])
          : Buffer.from(bytes);
        const result = parseProxyHeader(data);
        expect(['incomplete', 'invalid', 'header']).toContain(result.kind);
        if (result.kind === 'header') expect(result.length).toBeLessThanOrEqual(data.length);
      }),
      { numRuns: 500 },
    );
  });
});
