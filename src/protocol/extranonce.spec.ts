import { minerNotifyLine, minerNotifyParams, poolExtranonce2, translation } from './extranonce.js';
import { encodeNotification } from './json-rpc.js';
import type { PoolJob } from './pool-messages.js';
import { buildCoinbase, buildHeader, merkleRoot, sha256d } from './share-hash.js';

const job: PoolJob = {
  jobId: 'j1',
  prevhash: '0eabbb608aeff3dbe38e604975fdf826e3b773c4e2952098000000d100000000',
  coinb1: '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff2f0315230e0004ae03ca57043e3d1e1d0c',
  coinb2: '122f4e696e6a61506f6f6c2f5345475749542fffffffff0100000000000000000000000000',
  merkleBranch: ['b0ab75041c13ae2491217b0e858b291c9f86b7800047d416f3f188cfba866dd0'],
  version: '20000000',
  nbits: '1a0213ef',
  ntime: '57ca03ae',
  cleanJobs: true,
};

describe('extranonce translation', () => {
  it.each([
    [8, 1, 4],
    [8, 2, 6],
    [5, 1, 4],
    [4, 1, 3],
    [8, 1, 7],
  ])('gives miner and pool the same coinbase and merkle root (pool n=%i, |P|=%i, m=%i)', (n, p, m) => {
    const e1 = 'a1b2c3d4';
    const prefix = 'ab'.repeat(p);
    const e2 = '5e'.repeat(m);
    const t = translation(e1, n, p, m);
    const [, , minerCoinb1, minerCoinb2] = minerNotifyParams(job, t) as string[];
    const minerCoinbase = buildCoinbase({ coinb1: minerCoinb1, coinb2: minerCoinb2 }, prefix, e2);
    const upstreamE2 = poolExtranonce2(prefix, e2, t);
    expect(upstreamE2).toHaveLength(n * 2);
    const poolCoinbase = buildCoinbase(job, e1, upstreamE2);
    expect(minerCoinbase.equals(poolCoinbase)).toBe(true);
    expect(merkleRoot(minerCoinbase, job.merkleBranch).equals(merkleRoot(poolCoinbase, job.merkleBranch))).toBe(true);
    const share = { ntime: job.ntime, nonce: '41dc22cc' };
    const minerHeader = buildHeader(
      { ...job, coinb1: minerCoinb1, coinb2: minerCoinb2 },
      { ...share, extranonce1: prefix, extranonce2: e2 },
    );
    const poolHeader = buildHeader(job, { ...share, extranonce1: e1, extranonce2: upstreamE2 });
    expect(sha256d(minerHeader).equals(sha256d(poolHeader))).toBe(true);
  });

  it('encodes the notify line from a per-job template, byte for byte as the generic encoder', () => {
    for (const [n, clean] of [
      [8, true],
      [5, false],
    ] as const) {
      const t = translation('a1b2c3d4', n, 1, 4);
      expect(minerNotifyLine(job, t, clean)).toBe(encodeNotification('mining.notify', minerNotifyParams(job, t, clean)));
    }
    expect(minerNotifyLine({ ...job, jobId: 'quote"d' }, translation('aa', 8, 1, 4), true)).toBe(
      encodeNotification('mining.notify', minerNotifyParams({ ...job, jobId: 'quote"d' }, translation('aa', 8, 1, 4), true)),
    );
  });

  it('refuses sizes that do not fit the pool', () => {
    expect(() => translation('00', 4, 1, 4)).toThrow(RangeError);
  });

  it('a wrong padding position breaks the root (the test can fail)', () => {
    const t = translation('a1b2c3d4', 8, 1, 4);
    const [, , c1, c2] = minerNotifyParams(job, t) as string[];
    const miner = buildCoinbase({ coinb1: c1, coinb2: c2 }, 'ab', '5e5e5e5e');
    const wrong = buildCoinbase(job, 'a1b2c3d4', t.padding + 'ab5e5e5e5e');
    expect(miner.equals(wrong)).toBe(false);
  });
});
