import { sv2SecurityFailure } from './sv2-metrics.js';

describe('SV2 security failures', () => {
  it('reads the stage and kind of a down reason, in bounded label values', () => {
    expect(
      sv2SecurityFailure("Noise handshake failed (bad-signature): the pool's certificate is not signed by the configured authority key"),
    ).toEqual({
      stage: 'handshake',
      reason: 'bad_signature',
    });
    expect(sv2SecurityFailure('Noise handshake failed (certificate-expired): certificate expired at 1, now is 2')).toEqual({
      stage: 'handshake',
      reason: 'certificate_expired',
    });
    expect(sv2SecurityFailure('Noise transport failed (decryption-failed): MAC check failed at nonce 3')).toEqual({
      stage: 'transport',
      reason: 'decryption_failed',
    });
    expect(sv2SecurityFailure('Noise authority key: authority key is not valid base58check: Invalid checksum')).toEqual({
      stage: 'authority_key',
      reason: 'invalid',
    });
  });

  it('is null for every other reason', () => {
    for (const reason of ['ECONNREFUSED', 'closed by the pool', 'TLS ERR_TLS_CERT_ALTNAME_INVALID: x', 'SV2 framing: frame too large'])
      expect(sv2SecurityFailure(reason), reason).toBeNull();
  });
});
