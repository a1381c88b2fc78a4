import { formatPoolAddress, nonPublicReason, parsePoolAddress } from './public-address.js';

describe('public addresses', () => {
  it('refuses loopback, private, link-local, multicast, unspecified and mapped ones', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '100.64.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      'ff02::1',
      '::ffff:127.0.0.1',
    ])
      expect(nonPublicReason(address), address).not.toBeNull();
  });

  it('accepts public addresses', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])
      expect(nonPublicReason(address), address).toBeNull();
  });
});

describe('pool addresses', () => {
  it('reads host:port and [IPv6]:port', () => {
    expect(parsePoolAddress('pool.example.com:3333')).toEqual({ host: 'pool.example.com', port: 3333 });
    expect(parsePoolAddress('[2001:db8::1]:3333')).toEqual({ host: '2001:db8::1', port: 3333 });
    for (const bad of ['2001:db8::1:3333', '[pool.example.com]:1', '[::1]:0', 'a.b:65536', 'a b:1', ':1', '[zz::1]:1'])
      expect(parsePoolAddress(bad), bad).toBeNull();
  });

  it('reads stratum+tcp, stratum+ssl and stratum+tls URLs', () => {
    const sv1 = { protocol: 'sv1' };
    expect(parsePoolAddress('stratum+ssl://pool.example.com:4444')).toEqual({ host: 'pool.example.com', port: 4444, tls: true, ...sv1 });
    expect(parsePoolAddress('stratum+tls://[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443, tls: true, ...sv1 });
    expect(parsePoolAddress('stratum+tcp://pool.example.com:3333')).toEqual({ host: 'pool.example.com', port: 3333, tls: false, ...sv1 });
    expect(parsePoolAddress('http://pool.example.com:3333')).toBeNull();
  });

  it('reads stratum2+tcp URLs with the authority key after the address, or without it', () => {
    const key = '9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72';
    expect(parsePoolAddress(`stratum2+tcp://pool.example.com:34254/${key}`)).toEqual({
      host: 'pool.example.com',
      port: 34254,
      protocol: 'sv2',
      authorityPubkey: key,
    });
    expect(parsePoolAddress('stratum2+tcp://[2001:db8::1]:34254')).toEqual({ host: '2001:db8::1', port: 34254, protocol: 'sv2' });
    // Base58 has no 0, O, I or l; no port, no host, or a second path segment is not an address.
    for (const bad of [
      `stratum2+tcp://pool.example.com:34254/0${key}`,
      `stratum2+tcp://pool.example.com/${key}`,
      'stratum2+tcp://:1/x',
      `stratum2+tcp://a.b:1/${key}/x`,
      `stratum2+ssl://a.b:1/${key}`,
    ])
      expect(parsePoolAddress(bad), bad).toBeNull();
  });

  it('writes IPv6 hosts in brackets', () => {
    expect(formatPoolAddress('2001:db8::1', 3333)).toBe('[2001:db8::1]:3333');
    expect(formatPoolAddress('pool.example.com', 1)).toBe('pool.example.com:1');
  });
});
