import { AccountingService } from '../src/accounting/accounting.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sample } from './support/metrics-text.js';
import { SimPool } from './support/sim-pool.js';

// scrypt pools count difficulty in units of 65536: a share takes (D / 65536) * 2^32 hashes, so 2^-10 means 64.
const SCRYPT_DIFFICULTY = 2 ** -10;

describe('local share validation across algorithms on one port', () => {
  const farm = new Farm();
  let sha: SimPool;
  let scrypt: SimPool;
  let shaName: string;
  let scryptName: string;
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;

  beforeAll(async () => {
    await farm.start(['--metrics.tag=algo']);
    sha = await farm.addPool({ extranonce2Size: 8 });
    scrypt = await farm.addPool({ extranonce2Size: 8, algorithm: 'scrypt', difficulty: SCRYPT_DIFFICULTY }, 'scrypt');
    shaName = await farm.register(sha, 'bitcoiner');
    scryptName = await farm.register(scrypt, 'litecoiner');
  });

  afterAll(() => farm.stop());

  it('mines sha256d and scrypt through one port at once, with no pool-side rejects', async () => {
    const miners = [
      farm.miner({ login: `${shaName}.a` }),
      farm.miner({ login: `${shaName}.b` }),
      farm.miner({ login: `${scryptName}.a`, algorithm: 'scrypt' }),
      farm.miner({ login: `${scryptName}.b`, algorithm: 'scrypt' }),
    ];
    for (const miner of miners) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }
    await Promise.all(miners.map((miner) => miner.mine(4)));
    for (const miner of miners) expect(miner.rejected).toEqual([]);
    expect(sha.accepted).toHaveLength(8);
    expect(scrypt.accepted).toHaveLength(8);
    expect(sha.rejected).toEqual([]);
    expect(scrypt.rejected).toEqual([]);
  });

  it('answers low-difficulty, duplicate and stale shares locally; the pool never sees them', async () => {
    const miner = farm.miner({ login: `${shaName}.local` });
    await miner.start();
    await miner.waitForJob();
    const submit = (share: { jobId: string; extranonce2: string; ntime: string; nonce: string }) =>
      miner.request('mining.submit', [miner.options.login, share.jobId, share.extranonce2, share.ntime, share.nonce]);
    const good = miner.findShare();
    expect((await submit(good)).result).toBe(true);
    const seenByPool = sha.shares.length;

    expect((await submit(good)).error).toEqual([22, 'duplicate share', null]);
    expect((await submit(miner.findLowShare())).error).toEqual([23, 'low difficulty share', null]);
    const old = miner.findShare();
    const oldJob = miner.job!.id;
    sha.newJob(true);
    await miner.waitUntil(() => miner.job!.id !== oldJob, 'the clean job');
    expect((await submit(old)).error).toEqual([21, 'stale job', null]);
    expect(sha.shares.length).toBe(seenByPool);

    // A scrypt share that misses its target is refused by the proxy's own scrypt check too.
    const litecoin = farm.miner({ login: `${scryptName}.low`, algorithm: 'scrypt' });
    await litecoin.start();
    await litecoin.waitForJob();
    const low = litecoin.findLowShare();
    const scryptSeen = scrypt.shares.length;
    const answer = await litecoin.request('mining.submit', [litecoin.options.login, low.jobId, low.extranonce2, low.ntime, low.nonce]);
    expect(answer.error).toEqual([23, 'low difficulty share', null]);
    expect(scrypt.shares.length).toBe(scryptSeen);

    const text = await metrics();
    const labels = { proxy: 'algo', user: shaName, hash: 'sha256', pool: `127.0.0.1:${sha.port}` };
    expect(sample(text, 'proxy_shares_rejected_total', { ...labels, reason: 'local_duplicate' })).toBe(1);
    expect(sample(text, 'proxy_shares_rejected_total', { ...labels, reason: 'local_low_difficulty' })).toBe(1);
    expect(sample(text, 'proxy_shares_rejected_total', { ...labels, reason: 'stale' })).toBe(1);
    expect(
      sample(text, 'proxy_shares_rejected_total', {
        proxy: 'algo',
        user: scryptName,
        hash: 'scrypt',
        pool: `127.0.0.1:${scrypt.port}`,
        reason: 'local_low_difficulty',
      }),
    ).toBe(1);
  });

  it('validates shares with rolled version bits', async () => {
    const miner = farm.miner({ login: `${shaName}.rolling`, versionRollingMask: '1fffe000' });
    await miner.start();
    await miner.waitForJob();
    const before = sha.accepted.length;
    await miner.mine(2, { versionBits: '00004000' });
    await miner.mine(1, { versionBits: '1fffe000' });
    expect(miner.rejected).toEqual([]);
    expect(sha.accepted.length - before).toBe(3);
  });

  it('counts a share that meets its block target', async () => {
    // nbits 1d00ffff is difficulty 1; shares at difficulty 1 would take 2^32 hashes, so use an easy job.
    const easy = new SimPool({ extranonce2Size: 8, difficulty: 2 ** -20 });
    await easy.start();
    farm.pools.push(easy);
    await farm.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port: easy.port, algorithm: 'sha256' })
      .expect(201);
    const name = await farm.register(easy, 'lucky');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    // Rewrite the job's nbits to the easiest target: every valid share is then a block.
    const peer = [...easy.peers][0];
    const job = { ...easy.newJob(false), nbits: '207fffff' };
    peer.sendJob(job, true);
    await miner.waitUntil(() => miner.job?.nbits === '207fffff', 'the easy job');
    await miner.mine(1);
    expect(
      sample(await metrics(), 'proxy_blocks_found_total', { proxy: 'algo', user: name, hash: 'sha256', pool: `127.0.0.1:${easy.port}` }),
    ).toBe(1);
  });
});

describe('algorithm detection for pools the database does not know', () => {
  const farm = new Farm();
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;
  const poolView = async (port: number) =>
    (
      (await farm.http.get('/api/v1/pools').expect(200)).body as {
        id: number;
        port: number;
        host: string;
        algorithm: string;
        divider: number | null;
        detectedAt: string | null;
      }[]
    ).find((pool) => pool.host === '127.0.0.1' && pool.port === port);

  beforeAll(() => farm.start(['--pools.allowUnknown', '--pools.allowPrivate', '--metrics.tag=detect']));
  afterAll(() => farm.stop());

  it.each([
    ['scrypt', { algorithm: 'scrypt' as const, difficulty: SCRYPT_DIFFICULTY }, 65536],
    ['sha256', { algorithm: 'sha256' as const }, 1],
  ])('learns that an unknown pool is %s after a few accepted shares, then reports its hashrate', async (expected, options, divider) => {
    const pool = new SimPool({ extranonce2Size: 8, ...options });
    await pool.start();
    farm.pools.push(pool);
    const registered = await farm.http
      .post('/api/v1/users')
      .send({ pool: `127.0.0.1:${pool.port}`, user: `acct-${expected}`, password: 'x' })
      .expect(201);
    const name = registered.body.name as string;
    expect(await poolView(pool.port)).toMatchObject({ algorithm: 'unknown', divider: null, detectedAt: null });

    const miner = farm.miner({ login: `${name}.rig`, algorithm: options.algorithm });
    await miner.start();
    await miner.waitForJob();
    await miner.mine(2);
    const labels = { proxy: 'detect', hash: 'unknown', pool: `127.0.0.1:${pool.port}` };
    let text = await metrics();
    expect(sample(text, 'proxy_pool_up', labels)).toBe(1);
    expect(sample(text, 'proxy_pool_divider', labels)).toBeUndefined();
    farm.get(AccountingService).refreshSpeeds();
    expect(
      sample(await metrics(), 'proxy_user_speed', { proxy: 'detect', user: name, hash: 'unknown', pool: labels.pool }),
    ).toBeUndefined();
    // Not decided on two shares; the third settles it.
    expect((await poolView(pool.port))!.algorithm).toBe('unknown');
    await miner.mine(2);
    await miner.waitUntil(() => miner.rejected.length > 0 || miner.accepted.length === 4, 'the verdicts');
    for (let i = 0; i < 50 && (await poolView(pool.port))!.algorithm === 'unknown'; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const detected = (await poolView(pool.port))!;
    expect(detected).toMatchObject({ algorithm: expected, divider });
    expect(detected.detectedAt).not.toBeNull();
    expect(miner.rejected).toEqual([]);
    expect(pool.rejected).toEqual([]);

    await miner.mine(1);
    farm.get(AccountingService).refreshSpeeds();
    text = await metrics();
    const known = { proxy: 'detect', hash: expected, pool: `127.0.0.1:${pool.port}` };
    expect(sample(text, 'proxy_pool_divider', known)).toBe(divider);
    expect(sample(text, 'proxy_pool_up', labels)).toBeUndefined();
    expect(sample(text, 'proxy_user_speed', { proxy: 'detect', user: name, hash: expected, pool: known.pool })).toBeGreaterThan(0);
  });

  it('lets an operator set or correct a pool algorithm with PATCH', async () => {
    const pool = new SimPool({ extranonce2Size: 8 });
    await pool.start();
    farm.pools.push(pool);
    await farm.http
      .post('/api/v1/users')
      .send({ pool: `127.0.0.1:${pool.port}`, user: 'manual' })
      .expect(201);
    const view = (await poolView(pool.port))!;
    const patched = await farm.http
      .patch(`/api/v1/pools/${view.id}`)
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ algorithm: 'sha256' })
      .expect(200);
    expect(patched.body).toMatchObject({ algorithm: 'sha256', divider: 1, detectedAt: null });
    await farm.http
      .patch(
        `/api/v1/algorithms/${(await farm.http.get('/api/v1/algorithms')).body.find((a: { name: string }) => a.name === 'unknown').id}`,
      )
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ divider: 2 })
      .expect(400);
  });
});
