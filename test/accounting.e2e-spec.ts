import { AccountingService } from '../src/accounting/accounting.service.js';
import { StatsRecorder } from '../src/accounting/stats-recorder.js';
import { DataSource } from 'typeorm';
import { User } from '../src/users/user.entity.js';
import { UserExpiry } from '../src/users/user-expiry.js';
import type { RunningProxy } from '../src/bootstrap.js';
import { Farm, TOKEN } from './support/farm.js';
import { startTestProxy } from './support/proxy.js';
import { sample, samples } from './support/metrics-text.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';
import { describeEachStore } from './support/stores.js';

const D = 2 ** -20; // the simulated pools' difficulty
const TAG = 'farm-7';

describeEachStore('accounting and metrics', (factory) => {
  const farm = new Farm();
  let sha: SimPool;
  let scrypt: SimPool;
  let alice: string;
  let carol: string;
  let rig: SimMiner;
  let plain: SimMiner;
  let litecoin: SimMiner;
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;
  const shaLabels = () => ({ proxy: TAG, user: alice, hash: 'sha256', pool: `127.0.0.1:${sha.port}` });
  const workerLabels = (miner: SimMiner) => ({ ...shaLabels(), worker: minerAddress(miner) });
  const minerAddress = (miner: SimMiner) => `127.0.0.1:${miner.socket!.localPort}`;

  beforeAll(async () => {
    // Local validation off: the simulated pool must see (and reject) the bad shares itself.
    await farm.start(
      [`--metrics.tag=${TAG}`, '--stratum.sessionLinger=300ms', '--stats.flushInterval=1h', '--shares.validate=false'],
      factory,
    );
    sha = await farm.addPool({ extranonce2Size: 8 });
    scrypt = await farm.addPool({ extranonce2Size: 8 }, 'scrypt');
    alice = await farm.register(sha, 'alice');
    carol = await farm.register(scrypt, 'carol');
    rig = farm.miner({ login: `${alice}.rig1` });
    plain = farm.miner({ login: alice });
    litecoin = farm.miner({ login: `${carol}.ltc` });
    for (const miner of [rig, plain, litecoin]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }
  });

  afterAll(() => farm.stop());

  it('counts every share exactly as the pool saw it, per worker and in the totals', async () => {
    await rig.mine(4);
    await plain.mine(2);
    // Rejected by the pool on purpose: a duplicate and a low-difficulty share.
    const share = rig.findShare();
    const submit = (s: { jobId: string; extranonce2: string; ntime: string; nonce: string }) =>
      rig.request('mining.submit', [rig.options.login, s.jobId, s.extranonce2, s.ntime, s.nonce]);
    expect((await submit(share)).result).toBe(true);
    expect((await submit(share)).error).toEqual([22, 'duplicate share', null]);
    expect((await submit(rig.findLowShare())).error).toEqual([23, 'low difficulty share', null]);
    // Rejected by the proxy itself, never forwarded: an unknown job and a malformed extranonce2.
    const unknownJob = await rig.request('mining.submit', [
      rig.options.login,
      'gone',
      '00'.repeat(rig.extranonce2Size),
      share.ntime,
      share.nonce,
    ]);
    expect((unknownJob.error as unknown[])[0]).toBe(21);
    const malformed = await rig.request('mining.submit', [rig.options.login, share.jobId, 'zz', share.ntime, share.nonce]);
    expect((malformed.error as unknown[])[0]).toBe(20);
    await litecoin.mine(2);

    // What the pools saw: the proxy's numbers must match these.
    // The pool's extranonce2 is the channel's slot byte, then the miner's prefix (its extranonce1), then its own.
    const rigAtPool = sha.shares.filter((s) => s.extranonce2.slice(2).startsWith(rig.extranonce1));
    expect(rigAtPool.map((s) => s.verdict)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted', 'rejected', 'rejected']);
    expect(sha.accepted).toHaveLength(7);
    expect(scrypt.accepted).toHaveLength(2);

    const text = await metrics();
    const w = workerLabels(rig);
    expect(sample(text, 'proxy_worker_up', { proxy: TAG, worker: w.worker, user: alice })).toBe(1);
    expect(sample(text, 'proxy_worker_sended', w)).toBe(rigAtPool.length);
    expect(sample(text, 'proxy_worker_one_sended', w)).toBe(rigAtPool.length * D);
    expect(sample(text, 'proxy_worker_accepted', w)).toBe(5);
    expect(sample(text, 'proxy_worker_one_accepted', w)).toBe(5 * D);
    expect(sample(text, 'proxy_worker_difficulty', w)).toBe(D);
    expect(sample(text, 'proxy_worker_accepted', workerLabels(plain))).toBe(2);
    expect(sample(text, 'proxy_pool_up', { proxy: TAG, hash: 'sha256', pool: `127.0.0.1:${sha.port}` })).toBe(1);
    expect(sample(text, 'proxy_pool_divider', { proxy: TAG, hash: 'sha256', pool: `127.0.0.1:${sha.port}` })).toBe(1);
    expect(sample(text, 'proxy_pool_divider', { proxy: TAG, hash: 'scrypt', pool: `127.0.0.1:${scrypt.port}` })).toBe(65536);
    // Both of alice's miners share one pool connection (channel) of her account.
    expect(sample(text, 'proxy_pool_connections', { proxy: TAG, pool: `127.0.0.1:${sha.port}` })).toBe(1);
    expect(sha.connectionsAccepted).toBe(1);
    const channels = text
      .split('\n')
      .filter((line) => line.startsWith(`proxy_channel_sessions{proxy="${TAG}",pool="127.0.0.1:${sha.port}"`));
    expect(channels).toHaveLength(1);
    expect(channels[0].endsWith(' 2')).toBe(true);
    expect(sample(text, 'proxy_workers_connected', { proxy: TAG })).toBe(3);

    // Totals per user, pool and algorithm: 7 accepted; rejected 2 by the pool and 2 by the proxy.
    expect(sample(text, 'proxy_shares_total', { ...shaLabels(), result: 'accepted' })).toBe(7);
    expect(sample(text, 'proxy_shares_total', { ...shaLabels(), result: 'rejected' })).toBe(4);
    expect(sample(text, 'proxy_difficulty_one_shares_total', { ...shaLabels(), result: 'accepted' })).toBe(7 * D);
    for (const reason of ['duplicate', 'low_difficulty', 'unknown_job', 'malformed']) {
      expect(sample(text, 'proxy_shares_rejected_total', { ...shaLabels(), reason }), reason).toBe(1);
    }
    expect(sample(text, 'proxy_protocol_errors_total', { proxy: TAG, side: 'miner', kind: 'malformed' })).toBe(1);
    // Scrypt's divider: difficulty / 65536 per share.
    const carolLabels = { proxy: TAG, user: carol, hash: 'scrypt', pool: `127.0.0.1:${scrypt.port}` };
    expect(sample(text, 'proxy_difficulty_one_shares_total', { ...carolLabels, result: 'accepted' })).toBe((2 * D) / 65536);
    // Rigs: the label after the dot, else the miner's IP.
    expect(sample(text, 'proxy_rig_shares_total', { ...shaLabels(), rig: 'rig1', result: 'accepted' })).toBe(5);
    expect(sample(text, 'proxy_rig_shares_total', { ...shaLabels(), rig: '127.0.0.1', result: 'accepted' })).toBe(2);
    expect(sample(text, 'proxy_rig_difficulty_one_shares_total', { ...shaLabels(), rig: 'rig1', result: 'rejected' })).toBe(4 * D);
    expect(sample(text, 'proxy_upstream_connects_total', { proxy: TAG, pool: `127.0.0.1:${sha.port}`, outcome: 'success' })).toBe(1);
    expect(sample(text, 'proxy_share_round_trip_seconds_count', { proxy: TAG, pool: `127.0.0.1:${sha.port}` })).toBe(9);
  });

  it('computes speeds over the connected time within the 5-minute window', async () => {
    const accounting = farm.get(AccountingService);
    const since = Date.parse(accounting.workersSnapshot().find((worker) => worker.rig === 'rig1')!.connectedSince);
    accounting.refreshSpeeds(since + 60_000);
    let text = await metrics();
    // 5 accepted shares at D within the first minute, measured over 60 s, not 300 s.
    expect(sample(text, 'proxy_worker_speed', workerLabels(rig))).toBeCloseTo((2 ** 32 * 5 * D) / 60, 6);
    expect(sample(text, 'proxy_rig_speed', { ...shaLabels(), rig: 'rig1' })).toBeGreaterThan(0);
    expect(sample(text, 'proxy_user_speed', shaLabels())).toBeGreaterThan(0);
    accounting.refreshSpeeds(since + 10 * 60_000);
    text = await metrics();
    expect(sample(text, 'proxy_worker_speed', workerLabels(rig))).toBe(0);
    accounting.refreshSpeeds();
  });

  it('counts a share at the difficulty of its job, not the one current at submit', async () => {
    const before = sample(await metrics(), 'proxy_worker_one_accepted', workerLabels(plain))!;
    sha.setDifficulty(2 * D);
    await plain.waitUntil(() => plain.difficulty === 2 * D, 'the new difficulty');
    await plain.mine(1); // still the old job: difficulty D
    const oldJob = plain.job!.id;
    sha.newJob(true);
    await plain.waitUntil(() => plain.job!.id !== oldJob, 'the next job');
    await plain.mine(1); // the new job: difficulty 2D
    const text = await metrics();
    expect(sample(text, 'proxy_worker_one_accepted', workerLabels(plain))).toBe(before + D + 2 * D);
    expect(sample(text, 'proxy_worker_difficulty', workerLabels(plain))).toBe(2 * D);
    expect(sha.rejected.filter((s) => s.code === 23)).toHaveLength(1); // only the deliberate one
  });

  it('serves the statistics API from unflushed and flushed statistics, and the workers API', async () => {
    const stats = async () =>
      (await farm.http.get(`/api/v1/users/${alice}/stats?step=1h&from=${Math.floor(Date.now() / 1000) - 3600}`).expect(200)).body;
    const totals = (body: { points: { shares: Record<string, number>; difficultyOneShares: Record<string, number> }[] }) =>
      body.points.reduce(
        (sum, point) => ({
          sent: sum.sent + point.shares.sent,
          accepted: sum.accepted + point.shares.accepted,
          rejected: sum.rejected + point.shares.rejected,
        }),
        { sent: 0, accepted: 0, rejected: 0 },
      );
    const atPool = sha.shares.filter((s) => s.user === 'alice');
    const expected = { sent: atPool.length, accepted: atPool.filter((s) => s.verdict === 'accepted').length, rejected: 4 };
    expect(totals(await stats())).toEqual(expected);
    await farm.get(StatsRecorder).flush();
    const flushed = await stats();
    expect(totals(flushed)).toEqual(expected);
    expect(flushed.points.some((point: { hashrate: number }) => point.hashrate > 0)).toBe(true);

    const user = (await farm.http.get(`/api/v1/users/${alice.toUpperCase()}`).expect(200)).body;
    expect(user).toMatchObject({ name: alice, pool: `127.0.0.1:${sha.port}`, algorithm: 'sha256', user: 'alice' });
    expect(user.lastSeenAt).not.toBeNull();
    expect(user.workers.map((worker: { rig: string | null }) => worker.rig).sort()).toEqual([null, 'rig1']);
    expect(JSON.stringify(user)).not.toMatch(/password/);

    await farm.http.get('/api/v1/workers').expect(401);
    const workers = (await farm.http.get('/api/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200)).body;
    const rigWorker = workers.find((worker: { rig: string }) => worker.rig === 'rig1');
    expect(rigWorker).toMatchObject({
      user: alice,
      pool: `127.0.0.1:${sha.port}`,
      algorithm: 'sha256',
      difficulty: D,
      shares: { accepted: 5, rejected: 4 },
    });
    expect(Object.keys(rigWorker.hashrate)).toEqual(['1m', '10m', '1h', '12h', '24h']);

    await farm.http.get(`/api/v1/users/${alice}/stats?step=30s`).expect(400);
    await farm.http.get(`/api/v1/users/${alice}/stats?from=yesterday`).expect(400);
    await farm.http.get(`/api/v1/users/${alice}/stats?from=2000&to=1000`).expect(400);
    await farm.http.get(`/api/v1/users/${alice}/stats?from=0&step=1m`).expect(400);
    await farm.http.get('/api/v1/users/0000000000000000/stats').expect(404);
    await farm.http.get('/api/v1/users/nope').expect(404);
  });

  it("removes a gone worker's series after the linger, keeping the totals", async () => {
    const labels = workerLabels(plain);
    await plain.close();
    await new Promise((resolve) => setTimeout(resolve, 800));
    const text = await metrics();
    expect(samples(text, 'proxy_worker_up').filter((line) => line.includes(labels.worker))).toEqual([]);
    expect(samples(text, 'proxy_worker_accepted').filter((line) => line.includes(labels.worker))).toEqual([]);
    expect(sample(text, 'proxy_shares_total', { ...shaLabels(), result: 'accepted' })).toBe(sha.accepted.length);
    expect(sample(text, 'proxy_rig_shares_total', { ...shaLabels(), rig: '127.0.0.1', result: 'accepted' })).toBe(4);
    expect(sample(text, 'proxy_workers_connected', { proxy: TAG })).toBe(2);
  });

  it('flushes at shutdown and keeps the statistics across a restart; prunes past the retention', async () => {
    // Mined after the last flush, with the flush interval at an hour: only the shutdown flush saves it.
    await rig.mine(1);
    await farm.restart();
    const accepted = async (from: number) => {
      const body = (await farm.http.get(`/api/v1/users/${alice}/stats?step=1h&from=${Math.floor(from / 1000)}`).expect(200)).body;
      return body.points.reduce((sum: number, point: { shares: { accepted: number } }) => sum + point.shares.accepted, 0);
    };
    expect(await accepted(Date.now() - 3_600_000)).toBe(sha.accepted.filter((share) => share.user === 'alice').length);
    // 31 days later, everything is past the 30-day retention.
    await farm.get(StatsRecorder).prune(Date.now() + 31 * 86_400_000);
    expect(await accepted(Date.now() - 3_600_000)).toBe(0);
  });

  it('expires users inactive for longer than --users.expireAfter', async () => {
    const expiry = farm.get(UserExpiry);
    // Not configured: nothing goes.
    expect(await expiry.run(Date.now() + 365 * 86_400_000)).toBe(0);
  });
});

describeEachStore('user expiry', (factory) => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--users.expireAfter=1h'], factory));
  afterAll(() => farm.stop());

  it('deletes users inactive for longer than the setting, and only those', async () => {
    const pool = await farm.addPool();
    const old = await farm.register(pool, 'old');
    const fresh = await farm.register(pool, 'fresh');
    const seen = await farm.register(pool, 'seen');
    const users = farm.get(DataSource).getRepository(User);
    const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);
    await users.update({ name: old }, { createdAt: hoursAgo(3) });
    // Registered long ago but active recently: its last activity counts, not its registration.
    await users.update({ name: seen }, { createdAt: hoursAgo(5), lastSeenAt: hoursAgo(0.5) });
    const expiry = farm.get(UserExpiry);
    expect(await expiry.run()).toBe(1);
    await farm.http.get(`/api/v1/users/${old}`).expect(404);
    await farm.http.get(`/api/v1/users/${fresh}`).expect(200);
    await farm.http.get(`/api/v1/users/${seen}`).expect(200);
    expect(await expiry.run(Date.now() + 2 * 3_600_000)).toBe(2);
  });
});

// Several instances share PostgreSQL; SQLite is the single-instance store.
describeEachStore(
  'statistics from several proxy instances',
  (factory) => {
    const first = new Farm();
    let second: RunningProxy;

    beforeAll(async () => {
      await first.start([], factory);
      second = await startTestProxy(first.store.flags);
    });

    afterAll(async () => {
      await second?.close();
      await first.stop();
    });

    it('adds into the same per-minute rows instead of overwriting them', async () => {
      const pool = await first.addPool();
      const name = await first.register(pool, 'shared');
      const now = Date.now();
      const a = first.get(StatsRecorder);
      const b = second.app.get(StatsRecorder);
      for (let i = 0; i < 3; i++) a.record(name, 'rig', 'accepted', 0.5, now);
      for (let i = 0; i < 2; i++) b.record(name, 'rig', 'accepted', 0.25, now);
      b.record(name, 'rig', 'rejected', 0.25, now);
      await Promise.all([a.flush(), b.flush()]);
      a.record(name, 'rig', 'accepted', 1, now);
      await a.flush();
      const rows = await a.rows(name, now - 60_000, now + 60_000);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ accepted: 6, rejected: 1, oneAccepted: 3, oneRejected: 0.25 });
    });
  },
  ['postgres'],
);
