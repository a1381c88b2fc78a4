import { DIFF1_TARGET } from '../difficulty.js';
import { classifyPoolReject } from '../errors.js';
import { buildHeader, hashValue, sha256d } from '../share-hash.js';
import { bigIntToU256, decodeMessage, encodeMessage, type NewExtendedMiningJob, type SetNewPrevHash } from './messages.js';
import {
  difficultyToSv2Target,
  hexToU32,
  prevHashToNotify,
  sv2ShareErrorToStratum,
  sv1JobIdToSv2,
  sv2JobIdToSv1,
  targetToDifficulty,
  toPoolExtranonce,
  toPoolJob,
  toSubmitSharesExtended,
  u32ToHex,
} from './sv1-translation.js';

// Test vector A of stratum-protocol.md: testnet3 block 926485, its real header and hash.
const A = {
  extranonce1: '8796bf57',
  extranonce2: '9aef0c0000000000',
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2f0315230e0004ae03ca57043e3d1e1d0c',
  coinb2:
    '122f4e696e6a61506f6f6c2f5345475749542fffffffff038427a112000000001976a914876fbb82ec05caa6af7a3b5e5a983aae6c6cc6d688ac0000000000000000266a24aa21a9ed5c748e121c0fe146d973a4ac26fa4a68b0549d46ee22d25f50a5e46fe1b377ee00000000000000002952534b424c4f434b3acd16772ad61a3c5f00287480b720f6035d5e54c9efc71be94bb5e3727f10909000000000',
  branch: [
    'b0ab75041c13ae2491217b0e858b291c9f86b7800047d416f3f188cfba866dd0',
    '9dccc061d2bb5f88d08df50945ff6ea170bfccd0124daf3690cfd5bf4be9f03b',
    'ad7e1d09479e0acfdb8c0b2e4a9a187d1668a694d006782c81fc01bf752497aa',
  ],
  notifyPrevhash: '0eabbb608aeff3dbe38e604975fdf826e3b773c4e2952098000000d100000000',
  header:
    '0000002060bbab0edbf3ef8a49608ee326f8fd75c473b7e3982095e2d100000000000000c30134f8c9b6d2470488d7a67a888f6fa12f8692e0c3411fbfb92f0f68f67eedae03ca57ef13021acc22dc41',
  hash: '000000000000015d6077a411a8f5cc95caf775ccf11c54e27df75ce58d187313',
};
const HEADER = Buffer.from(A.header, 'hex');

/** What an SV2 pool would send for block A: a future job, then the prev hash that activates it. */
function poolMessagesForA(): { job: NewExtendedMiningJob; prevHash: SetNewPrevHash } {
  const job = decodeMessage(
    encodeMessage({
      type: 'NewExtendedMiningJob',
      channelId: 1,
      jobId: 0x2a,
      minNtime: undefined,
      version: HEADER.readUInt32LE(0),
      versionRollingAllowed: true,
      merklePath: A.branch.map((hash) => Buffer.from(hash, 'hex')),
      coinbaseTxPrefix: Buffer.from(A.coinb1, 'hex'),
      coinbaseTxSuffix: Buffer.from(A.coinb2, 'hex'),
    }),
  ) as NewExtendedMiningJob;
  // prev_hash is a U256 in header order: exactly header bytes 4..36.
  const prevHash = decodeMessage(
    encodeMessage({
      type: 'SetNewPrevHash',
      channelId: 1,
      jobId: 0x2a,
      prevHash: HEADER.subarray(4, 36),
      minNtime: HEADER.readUInt32LE(68),
      nbits: HEADER.readUInt32LE(72),
    }),
  ) as SetNewPrevHash;
  return { job, prevHash };
}

describe('SV2 -> SV1 translation', () => {
  it('prev_hash (header bytes) becomes the notify prevhash of the real block', () => {
    expect(prevHashToNotify(HEADER.subarray(4, 36))).toBe(A.notifyPrevhash);
  });

  it('a future job activated by SetNewPrevHash rebuilds the real header and hash of block A', () => {
    const { job, prevHash } = poolMessagesForA();
    const poolJob = toPoolJob(job, prevHash, true);
    expect(poolJob).toMatchObject({
      jobId: '2a',
      prevhash: A.notifyPrevhash,
      version: '20000000',
      nbits: '1a0213ef',
      ntime: '57ca03ae',
      cleanJobs: true,
    });
    const extranonce = toPoolExtranonce(Buffer.from(A.extranonce1, 'hex'), 8);
    expect(extranonce).toEqual({ extranonce1: A.extranonce1, extranonce2Size: 8 });
    const header = buildHeader(poolJob, {
      extranonce1: extranonce.extranonce1,
      extranonce2: A.extranonce2,
      ntime: poolJob.ntime,
      nonce: '41dc22cc',
    });
    expect(header.toString('hex')).toBe(A.header);
    expect(Buffer.from(sha256d(header)).reverse().toString('hex')).toBe(A.hash);
  });

  it("a current job (min_ntime set) uses its own ntime, not the prev hash's", () => {
    const { job, prevHash } = poolMessagesForA();
    expect(toPoolJob({ ...job, minNtime: 0x57ca0400 }, prevHash, false)).toMatchObject({ ntime: '57ca0400', cleanJobs: false });
  });

  it('the SV1 share of block A becomes the SubmitSharesExtended whose fields rebuild the same header', () => {
    const submit = toSubmitSharesExtended({
      channelId: 1,
      sequenceNumber: 5,
      jobId: sv1JobIdToSv2('2a')!,
      extranonce: A.extranonce2,
      ntime: '57ca03ae',
      nonce: '41dc22cc',
      version: '20000000',
    });
    expect(submit).toMatchObject({
      jobId: 0x2a,
      nonce: HEADER.readUInt32LE(76),
      ntime: HEADER.readUInt32LE(68),
      version: HEADER.readUInt32LE(0),
    });
    expect(submit.extranonce.toString('hex')).toBe(A.extranonce2);
    // On the wire the U32 fields are little-endian: the very bytes of the header.
    const payload = encodeMessage(submit).payload;
    expect(payload.subarray(12, 16).equals(HEADER.subarray(76, 80))).toBe(true);
    expect(() =>
      toSubmitSharesExtended({ ...submit, extranonce: 'zz', ntime: '57ca03ae', nonce: '41dc22cc', version: '20000000' }),
    ).toThrow(RangeError);
    expect(() => toSubmitSharesExtended({ ...submit, extranonce: '', ntime: '57ca03a', nonce: '41dc22cc', version: '20000000' })).toThrow(
      RangeError,
    );
  });

  it('targets and difficulties: difficulty 1 is the SV1 difficulty-1 target, in little-endian U256 bytes', () => {
    expect(difficultyToSv2Target(1)).toBe(DIFF1_TARGET);
    expect(bigIntToU256(difficultyToSv2Target(1)).toString('hex')).toBe('00'.repeat(26) + 'ffff' + '00'.repeat(4));
    expect(targetToDifficulty(DIFF1_TARGET)).toBe(1);
    expect(targetToDifficulty(DIFF1_TARGET / 1024n)).toBe(1024);
    expect(targetToDifficulty(difficultyToSv2Target(65536))).toBe(65536);
    expect(targetToDifficulty(difficultyToSv2Target(0.5))).toBeCloseTo(0.5, 9);
    expect(targetToDifficulty(0n)).toBe(Number.POSITIVE_INFINITY);
    // Block A's hash meets a target of difficulty 12,293,035 and not one of 12,293,036.
    const hash = hashValue(sha256d(HEADER));
    expect(hash <= difficultyToSv2Target(12_293_035)).toBe(true);
    expect(hash <= difficultyToSv2Target(12_293_036)).toBe(false);
  });

  it('U32 fields and job ids to SV1 hex and back', () => {
    expect(u32ToHex(0x20000000)).toBe('20000000');
    expect(u32ToHex(1)).toBe('00000001');
    expect(() => u32ToHex(2 ** 32)).toThrow(RangeError);
    expect(hexToU32('ffffffff')).toBe(0xffffffff);
    expect(hexToU32('fffffff')).toBeNull();
    expect(sv2JobIdToSv1(0xffffffff)).toBe('ffffffff');
    expect(sv1JobIdToSv2('ffffffff')).toBe(0xffffffff);
    expect(sv1JobIdToSv2('1ffffffff')).toBeNull();
    expect(sv1JobIdToSv2('FF')).toBeNull();
    expect(sv1JobIdToSv2('')).toBeNull();
  });

  it('share error codes of SV2 pools become the SV1 codes miners know, the text kept', () => {
    const cases = [
      'invalid-job-id',
      'stale-share',
      'duplicate-share',
      'difficulty-too-low',
      'unknown-user',
      'invalid-channel-id',
      'pool-busy',
    ];
    const errors = cases.map(sv2ShareErrorToStratum);
    expect(errors.map((error) => error.toTuple())).toEqual([
      [21, 'invalid-job-id', null],
      [21, 'stale-share', null],
      [22, 'duplicate-share', null],
      [23, 'difficulty-too-low', null],
      [24, 'unknown-user', null],
      [20, 'invalid-channel-id', null],
      [20, 'pool-busy', null],
    ]);
    expect(errors.slice(0, 4).map(classifyPoolReject)).toEqual(['job_not_found', 'job_not_found', 'duplicate', 'low_difficulty']);
  });
});
