import { SecretBox, SecretKeyError } from './secrets.js';

describe('SecretBox', () => {
  it('seals and opens with the same key, never the same bytes twice, and refuses another key', () => {
    const box = new SecretBox('correct horse battery staple');
    const sealed = box.seal('pool-password');
    expect(sealed).toMatch(/^enc:v1:/);
    expect(sealed).not.toContain('pool-password');
    expect(box.seal('pool-password')).not.toBe(sealed);
    expect(box.open(sealed)).toBe('pool-password');
    expect(() => new SecretBox('another key').open(sealed)).toThrow(SecretKeyError);
    expect(() => new SecretBox(null).open(sealed)).toThrow('no PROXY_SECRET_KEY');
  });

  it('stores as given without a key, and digests equal passwords alike', () => {
    const plain = new SecretBox(null);
    expect(plain.seal('x')).toBe('x');
    expect(plain.digest('x')).toBe(plain.digest('x'));
    expect(plain.digest('x')).toMatch(/^sha256:/);
    const keyed = new SecretBox('k');
    expect(keyed.digest('x')).toMatch(/^hmac:/);
    expect(keyed.digest('x')).not.toBe(new SecretBox('k2').digest('x'));
  });
});
