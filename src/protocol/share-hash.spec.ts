import { difficultyToTarget, DIFF1_TARGET, hashDifficulty, nbitsToTarget } from './difficulty.js';
import { reverseHex } from './hex.js';
import { createHash } from 'node:crypto';
import {
  buildCoinbase,
  buildHeader,
  buildHeaderFromHex,
  hashMeetsTarget,
  hashValue,
  merkleRoot,
  rolledVersion,
  sha256d,
  targetBytes,
} from './share-hash.js';

// Test vector A of stratum-protocol.md: Bitcoin testnet3 block 926485 (bitcoin/bitcoin src/test/data/blockfilters.json).
const VECTOR_A = {
  extranonce1: '8796bf57',
  extranonce2: '9aef0c0000000000',
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2f0315230e0004ae03ca57043e3d1e1d0c',
  coinb2:
    '122f4e696e6a61506f6f6c2f5345475749542fffffffff038427a112000000001976a914876fbb82ec05caa6af7a3b5e5a983aae6c6cc6d688ac0000000000000000266a24aa21a9ed5c748e121c0fe146d973a4ac26fa4a68b0549d46ee22d25f50a5e46fe1b377ee00000000000000002952534b424c4f434b3acd16772ad61a3c5f00287480b720f6035d5e54c9efc71be94bb5e3727f10909000000000',
  merkleBranch: [
    'b0ab75041c13ae2491217b0e858b291c9f86b7800047d416f3f188cfba866dd0',
    '9dccc061d2bb5f88d08df50945ff6ea170bfccd0124daf3690cfd5bf4be9f03b',
    'ad7e1d09479e0acfdb8c0b2e4a9a187d1668a694d006782c81fc01bf752497aa',
  ],
  prevhash: '0eabbb608aeff3dbe38e604975fdf826e3b773c4e2952098000000d100000000',
  version: '20000000',
  nbits: '1a0213ef',
  ntime: '57ca03ae',
  nonce: '41dc22cc',
};

describe('share hashing (test vector A)', () => {
  it('rebuilds the coinbase txid and merkle root', () => {
    const coinbase = buildCoinbase(VECTOR_A, VECTOR_A.extranonce1, VECTOR_A.extranonce2);
    expect(reverseHex(sha256d(coinbase).toString('hex'))).toBe('2b9baddbd2861c663978a98c6c3c7648e1cd5c41b451f4a35b7851dd4786d9d3');
    expect(merkleRoot(coinbase, VECTOR_A.merkleBranch).toString('hex')).toBe(
      'c30134f8c9b6d2470488d7a67a888f6fa12f8692e0c3411fbfb92f0f68f67eed',
    );
  });

  it('rebuilds the header and its hash, which meets the block target', () => {
    const header = buildHeader(VECTOR_A, VECTOR_A);
    expect(header.toString('hex')).toBe(
      '0000002060bbab0edbf3ef8a49608ee326f8fd75c473b7e3982095e2d100000000000000c30134f8c9b6d2470488d7a67a888f6fa12f8692e0c3411fbfb92f0f68f67eedae03ca57ef13021acc22dc41',
    );
    const hash = sha256d(header);
    expect(reverseHex(hash.toString('hex'))).toBe('000000000000015d6077a411a8f5cc95caf775ccf11c54e27df75ce58d187313');
    expect(hashValue(hash) <= nbitsToTarget(VECTOR_A.nbits)).toBe(true);
    expect(hashDifficulty(hashValue(hash))).toBeCloseTo(12_293_035.6, 0);
  });

  it('fails when a single extranonce byte differs', () => {
    const header = buildHeader(VECTOR_A, { ...VECTOR_A, extranonce2: '9aef0c0000000001' });
    expect(reverseHex(sha256d(header).toString('hex'))).not.toBe('000000000000015d6077a411a8f5cc95caf775ccf11c54e27df75ce58d187313');
  });
});

describe('share hashing (test vector B: the genesis header)', () => {
  it('hashes to the genesis block hash', () => {
    const header = Buffer.concat([
      Buffer.from('00000001', 'hex').reverse(),
      Buffer.alloc(32),
      Buffer.from('3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a', 'hex'),
      Buffer.from('495fab29', 'hex').reverse(),
      Buffer.from('1d00ffff', 'hex').reverse(),
      Buffer.from('7c2bac1d', 'hex').reverse(),
    ]);
    expect(reverseHex(sha256d(header).toString('hex'))).toBe('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f');
  });
});

describe('version rolling', () => {
  it('puts the rolled bits inside the mask into the job version', () => {
    expect(rolledVersion('20000000', '00002000', 0x1fffe000)).toBe('20002000');
    expect(rolledVersion('20000000', undefined, undefined)).toBe('20000000');
  });
});

describe('difficulty math', () => {
  it('maps difficulty 1 to diff1 and scales exactly', () => {
    expect(difficultyToTarget(1)).toBe(DIFF1_TARGET);
    expect(difficultyToTarget(4096)).toBe(DIFF1_TARGET / 4096n);
    expect(difficultyToTarget(0.5)).toBe(DIFF1_TARGET * 2n);
    expect(difficultyToTarget(2 ** -20)).toBe(DIFF1_TARGET << 20n);
    expect(hashDifficulty(DIFF1_TARGET / 1000n)).toBeCloseTo(1000, 6);
  });

  it('rejects non-positive difficulties', () => {
    expect(() => difficultyToTarget(0)).toThrow(RangeError);
    expect(() => difficultyToTarget(-1)).toThrow(RangeError);
  });

  it('decodes nbits', () => {
    expect(nbitsToTarget('1d00ffff')).toBe(DIFF1_TARGET);
  });
});

describe('hashMeetsTarget', () => {
  it('agrees with the BigInt comparison', () => {
    for (let i = 0; i < 200; i++) {
      const hash = sha256d(Buffer.from([i]));
      const target = difficultyToTarget(2 ** ((i % 40) - 20));
      expect(hashMeetsTarget(hash, targetBytes(target)), `i=${i}`).toBe(hashValue(hash) <= target);
    }
    const hash = sha256d(Buffer.from('x'));
    expect(hashMeetsTarget(hash, targetBytes(hashValue(hash)))).toBe(true);
    expect(hashMeetsTarget(hash, targetBytes(hashValue(hash) - 1n))).toBe(false);
  });
});

describe('buildHeader: the job bytes decoded once (fast path) against the hex fields as they are', () => {
  // A seeded generator: the same cases every run, different across cases.
  let seed = 0x2f6b1d3;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('');
  const template = () => ({
    coinb1: hex(40 + Math.floor(random() * 80)),
    coinb2: hex(30 + Math.floor(random() * 200)),
    merkleBranch: Array.from({ length: Math.floor(random() * 13) }, () => hex(32)),
    prevhash: hex(32),
    version: hex(4),
    nbits: hex(4),
  });
  const share = () => {
    const rolled = random() < 0.5;
    return {
      extranonce1: hex(1 + Math.floor(random() * 8)),
      extranonce2: hex(1 + Math.floor(random() * 8)),
      ntime: hex(4),
      nonce: hex(4),
      versionBits: rolled ? hex(4) : undefined,
      versionMask: rolled ? 0x1fffe000 : undefined,
    };
  };

  it('gives the same 80 bytes for 2,000 random jobs and shares (each job hashed twice: decoded, then cached)', () => {
    for (let i = 0; i < 2000; i++) {
      const job = template();
      for (let n = 0; n < 2; n++) {
        const fields = share();
        expect(buildHeader(job, fields).toString('hex')).toBe(buildHeaderFromHex(job, fields).toString('hex'));
      }
    }
  });

  it('gives what the hex fields give for fields that are not plain hex of the usual length', () => {
    const job = template();
    const fields = share();
    const cases: [Partial<typeof job>, Partial<typeof fields>][] = [
      [{}, { extranonce2: 'abc' }],
      [{}, { extranonce1: '12zz' }],
      [{}, { ntime: '1234567' }],
      [{}, { nonce: '1234567g' }],
      [{}, { ntime: '123456789a' }],
      [{}, { versionBits: 'zz', versionMask: 0x1fffe000 }],
      [{ prevhash: hex(31) }, {}],
      [{ version: '2000000' }, {}],
      [{ nbits: 'xx' }, {}],
      [{ coinb1: `${hex(20)}0` }, {}],
      [{ merkleBranch: [hex(32), hex(31)] }, {}],
    ];
    for (const [jobChange, shareChange] of cases) {
      const odd = { ...job, ...jobChange };
      const oddShare = { ...fields, ...shareChange };
      expect(buildHeader(odd, oddShare).toString('hex')).toBe(buildHeaderFromHex(odd, oddShare).toString('hex'));
    }
  });

  it('notices a template changed after it was decoded', () => {
    const job = template();
    const fields = share();
    buildHeader(job, fields);
    job.coinb2 = hex(50);
    job.merkleBranch = [hex(32)];
    expect(buildHeader(job, fields).toString('hex')).toBe(buildHeaderFromHex(job, fields).toString('hex'));
  });

  it('hashes as createHash does (one-shot sha256d)', () => {
    for (const size of [0, 1, 64, 80, 1000]) {
      const data = Buffer.from(hex(size), 'hex');
      const reference = createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
      expect(sha256d(data).equals(reference)).toBe(true);
    }
  });
});
