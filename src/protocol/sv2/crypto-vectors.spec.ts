import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { elligatorSwift } from '@scure/btc-signer/p2p.js';
import { bip340Sign, bip340Verify, ellswiftDecode, ellswiftEcdhXonly, ellswiftEncode, keyPairFromSecret, v2Ecdh } from './noise.js';

// The published BIP340 and BIP324 vectors, from ../shared/vectors beside the repository (SOURCE.md there).
const VECTORS = fileURLToPath(new URL('../../../../shared/vectors/', import.meta.url));

function readCsv(name: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(VECTORS + name, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.length > 0);
  const columns = head.split(',');
  return rows.map((row) => {
    const cells = row.split(',');
    return Object.fromEntries(columns.map((column, i) => [column, cells[i] ?? '']));
  });
}

const hex = (text: string) => Buffer.from(text, 'hex');

describe('BIP340 vectors (bip340_test_vectors.csv)', () => {
  const rows = readCsv('bip340_test_vectors.csv');

  it('has every row of the published file', () => {
    expect(rows).toHaveLength(19);
  });

  it.each(rows.map((row) => [row.index, row] as const))('row %s: verification result matches', (_index, row) => {
    expect(bip340Verify(hex(row.signature), hex(row.message), hex(row['public key']))).toBe(row['verification result'] === 'TRUE');
  });

  const signing = rows.filter((row) => row['secret key'] !== '');
  it.each(signing.map((row) => [row.index, row] as const))(
    'row %s: signing gives the published signature and public key',
    (_index, row) => {
      const secretKey = hex(row['secret key']);
      expect(keyPairFromSecret(secretKey).publicKey.toString('hex')).toBe(row['public key'].toLowerCase());
      expect(bip340Sign(hex(row.message), secretKey, hex(row.aux_rand)).toString('hex')).toBe(row.signature.toLowerCase());
    },
  );

  it('signs where a secret key is given (the published file has 8 such rows)', () => {
    expect(signing).toHaveLength(8);
  });
});

describe('BIP324 ElligatorSwift vectors', () => {
  const decode = readCsv('bip324_ellswift_decode_test_vectors.csv');
  const inverse = readCsv('bip324_xswiftec_inv_test_vectors.csv');
  const packets = readCsv('bip324_packet_encoding_test_vectors.csv');

  it('has every row of the published files', () => {
    expect([decode.length, inverse.length, packets.length]).toEqual([76, 32, 7]);
  });

  it('ellswift decoding: every 64-byte encoding gives the published x', () => {
    for (const row of decode) expect(ellswiftDecode(hex(row.ellswift)).toString('hex'), row.comment).toBe(row.x);
  });

  it('xswiftec_inv: each of the 8 cases gives the published t, or none where the vector has none', () => {
    let some = 0;
    for (const row of inverse) {
      const u = BigInt(`0x${row.u}`);
      const x = BigInt(`0x${row.x}`);
      for (let ellCase = 0; ellCase < 8; ellCase++) {
        const expected = row[`case${ellCase}_t`];
        const t = elligatorSwift._inv(x, u, ellCase);
        expect(t === undefined ? '' : t.toString(16).padStart(64, '0'), `${row.u} case ${ellCase}`).toBe(expected);
        if (expected !== '') some++;
      }
    }
    expect(some).toBeGreaterThan(0);
  });

  it('packet vectors: x-only keys, x-only ECDH and the v2 shared secret (initiator and responder rows)', () => {
    expect(new Set(packets.map((row) => row.in_initiating))).toEqual(new Set(['0', '1']));
    for (const row of packets) {
      const secretKey = hex(row.in_priv_ours);
      const ours = hex(row.in_ellswift_ours);
      const theirs = hex(row.in_ellswift_theirs);
      expect(keyPairFromSecret(secretKey).publicKey.toString('hex'), row.in_idx).toBe(row.mid_x_ours);
      expect(ellswiftDecode(ours).toString('hex'), row.in_idx).toBe(row.mid_x_ours);
      expect(ellswiftDecode(theirs).toString('hex'), row.in_idx).toBe(row.mid_x_theirs);
      expect(ellswiftEcdhXonly(secretKey, theirs).toString('hex'), row.in_idx).toBe(row.mid_x_shared);
      expect(v2Ecdh(secretKey, ours, theirs, row.in_initiating === '1').toString('hex'), row.in_idx).toBe(row.mid_shared_secret);
    }
  });

  it('encoding: fresh encodings of a key differ each time and decode back to it', () => {
    const { publicKey } = keyPairFromSecret(hex('61062ea5071d800bbfd59e2e8b53d47d194b095ae5a4df04936b49772ef0d4d7'));
    const first = ellswiftEncode(publicKey);
    const second = ellswiftEncode(publicKey);
    expect(first).toHaveLength(64);
    expect(first.equals(second)).toBe(false);
    expect(ellswiftDecode(first).equals(publicKey)).toBe(true);
    expect(ellswiftDecode(second).equals(publicKey)).toBe(true);
  });
});
