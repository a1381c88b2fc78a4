import { SHARE_HASHERS } from './share-hashers.js';

const le32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value >>> 0);
  return bytes;
};
/** A genesis-style header: version 1, no previous block, the merkle root in display order. */
const header = (merkleRoot: string, time: number, bits: number, nonce: number) =>
  Buffer.concat([le32(1), Buffer.alloc(32), Buffer.from(merkleRoot, 'hex').reverse(), le32(time), le32(bits), le32(nonce)]);
const display = (hash: Buffer) => Buffer.from(hash).reverse().toString('hex');

describe('share hashers against real chains', () => {
  it('sha256: the Bitcoin genesis block (Bitcoin Core chainparams.cpp)', async () => {
    const bitcoin = header('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', 1231006505, 0x1d00ffff, 2083236893);
    expect(display(await SHARE_HASHERS.get('sha256')!.hash(bitcoin))).toBe(
      '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    );
  });

  it('scrypt: the Litecoin genesis block (litecoin chainparams.cpp; PoW hash as printed by mycroft/generate-genesis)', async () => {
    const litecoin = header('97ddfbbae6be97fd6cdf3e7ca13232a3afff2353e29badfab7f73011edd4ced9', 1317972665, 0x1e0ffff0, 2084524493);
    // The block id is sha256d; the proof of work is scrypt.
    expect(display(await SHARE_HASHERS.get('sha256')!.hash(litecoin))).toBe(
      '12a765e31ffd4059bada1e25190f6e98c99d9714d334efa41a195a7e7e04bfe2',
    );
    expect(display(await SHARE_HASHERS.get('scrypt')!.hash(litecoin))).toBe(
      '0000050c34a64b415b6b15b37f2216634b5b1669cb9a2e38d76f7213b0671e00',
    );
  });

  it('x11: the Dash genesis block (dashpay/dash chainparams.cpp)', async () => {
    const dash = header('e0028eb9648db56b1ac77cf090b99048a8007e2bb64b68f092c03c7f56a662c7', 1390095618, 0x1e0ffff0, 28917698);
    expect(display(await SHARE_HASHERS.get('x11')!.hash(dash))).toBe('00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6');
  });

  it('a one-bit change in the nonce changes every hash', async () => {
    const a = header('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', 1231006505, 0x1d00ffff, 1);
    const b = header('4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b', 1231006505, 0x1d00ffff, 3);
    for (const hasher of SHARE_HASHERS.values()) expect((await hasher.hash(a)).equals(await hasher.hash(b)), hasher.name).toBe(false);
  });
});
