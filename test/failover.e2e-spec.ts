import { createServer, Server, Socket } from 'node:net';
import { UpstreamChannels } from '../src/upstream/channels.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sampleWith as sample } from './support/metrics-text.js';
import { describeEachStore } from './support/stores.js';
import { until } from './support/until.js';
import type { MinerJob, SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

const address = (pool: SimPool) => `127.0.0.1:${pool.port}`;

/** Registers a name with backup accounts through the API. */
async function registerWithBackups(farm: Farm, primary: SimPool, backups: { pool: SimPool; user: string }[]): Promise<string> {
  const response = await farm.http
    .post('/api/v1/users')
    .send({
      pool: address(primary),
      user: 'main',
      password: 'x',
      backups: backups.map((b) => ({ pool: address(b.pool), user: b.user, password: 'x' })),
    })
    .expect(201);
  return response.body.name as string;
}

/** Whether the proxy holds a working connection to the pool. */
const poolIsUp = (farm: Farm, pool: SimPool) =>
  [...farm.get(UpstreamChannels).all()].some((channel) => channel.isReady && channel.poolAddress === address(pool));

const notifies = (miner: SimMiner) => miner.notifications.filter((n) => n.method === 'mining.notify').length;

describe('failover to backup accounts', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--upstream.connectTimeout=2s', '--upstream.failbackAfter=2s', '--stratum.sessionLinger=30s']));
  afterAll(() => farm.stop());

  it('moves 20 hashing miners to the backup within 5 s without a disconnect or a reject, and back after the failback time', async () => {
    const primary = await farm.addPool();
    const backup = await farm.addPool();
    const name = await registerWithBackups(farm, primary, [{ pool: backup, user: 'spare' }]);
    const view = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(view.body.backups).toEqual([{ pool: address(backup), user: 'spare' }]);
    expect(JSON.stringify(view.body)).not.toContain('"password"');

    const miners = Array.from({ length: 20 }, (_, i) => farm.miner({ login: `${name}.rig${i}` }));
    for (const miner of miners) expect((await miner.start()).result).toBe(true);
    for (const miner of miners) await miner.waitForJob();
    for (const miner of miners) await miner.mineOne();
    expect(primary.accepted).toHaveLength(20);
    const oldJobs = new Map<SimMiner, MinerJob>(miners.map((miner) => [miner, miner.job!]));
    const before = new Map(miners.map((miner) => [miner, notifies(miner)]));

    const stoppedAt = Date.now();
    await primary.stop();
    for (const miner of miners) await miner.waitUntil(() => notifies(miner) > before.get(miner)!, 'work from the backup', 5000);
    const movedMs = Date.now() - stoppedAt;
    console.log(`failover: 20 of 20 miners had work from the backup ${movedMs} ms after the primary stopped`);
    expect(movedMs).toBeLessThan(5000);
    for (const miner of miners) {
      expect(miner.job!.clean).toBe(true);
      await miner.mineOne();
    }
    expect(backup.accepted).toHaveLength(20);
    expect(backup.accepted.every((share) => share.user === 'spare')).toBe(true);

    // A share of the primary's job is stale now, and never reaches the backup.
    const late = miners[0];
    const current = late.job;
    late.job = oldJobs.get(late)!;
    const share = late.findShare();
    late.job = current;
    const stale = await late.request('mining.submit', [late.options.login, share.jobId, share.extranonce2, share.ntime, share.nonce]);
    expect(stale.error).toEqual([21, 'stale job', null]);
    expect(backup.shares).toHaveLength(20);

    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    const labels = { user: name, from: address(primary), to: address(backup), reason: 'unreachable' };
    expect(sample(metrics, 'proxy_failovers_total', labels)).toBe(1);
    expect(sample(metrics, 'proxy_pool_up', { pool: address(backup) })).toBe(1);
    expect(sample(metrics, 'proxy_pool_up', { pool: address(primary) })).toBeUndefined();
    const active = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(active.body.active).toEqual({ index: 1, pool: address(backup), user: 'spare' });
    const workers = await farm.http.get('/api/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    const ours = (workers.body as { user: string; pool: string; account: { index: number } }[]).filter((w) => w.user === name);
    expect(ours).toHaveLength(20);
    expect(ours.every((worker) => worker.pool === address(backup) && worker.account.index === 1)).toBe(true);

    // The primary comes back: the miners return once it has stayed up for the failback time (2 s).
    const onBackup = new Map(miners.map((miner) => [miner, notifies(miner)]));
    await primary.start();
    const backAt = Date.now();
    for (const miner of miners) await miner.waitUntil(() => notifies(miner) > onBackup.get(miner)!, 'work from the primary again', 8000);
    const backMs = Date.now() - backAt;
    console.log(`failback: 20 of 20 miners had work from the primary ${backMs} ms after it came back (failback time 2 s)`);
    expect(backMs).toBeGreaterThanOrEqual(1900);
    for (const miner of miners) await miner.mineOne();
    expect(primary.accepted.filter((share) => share.user === 'main')).toHaveLength(40);
    for (const miner of miners) {
      expect(miner.isClosed).toBe(false);
      expect(miner.rejected).toEqual([]);
    }
    expect(primary.rejected).toEqual([]);
    expect(backup.rejected).toEqual([]);
    const after = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(after, 'proxy_failovers_total', { user: name, from: address(backup), to: address(primary), reason: 'failback' })).toBe(1);
  });

  it('moves to the backup when the primary refuses the credentials, and tells the miner nothing but true', async () => {
    const primary = await farm.addPool({ accounts: { other: 'x' } });
    const backup = await farm.addPool();
    const name = await registerWithBackups(farm, primary, [{ pool: backup, user: 'spare' }]);
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    await miner.mine(2);
    expect(backup.accepted).toHaveLength(2);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(metrics, 'proxy_failovers_total', { user: name, from: address(primary), to: address(backup), reason: 'refused' })).toBe(
      1,
    );
  });

  it('fails over to a backup with a smaller pool extranonce2 without telling the miners anything new', async () => {
    const primary = await farm.addPool({ extranonce2Size: 8 });
    const backup = await farm.addPool({ extranonce2Size: 4 });
    const name = await registerWithBackups(farm, primary, [{ pool: backup, user: 'small' }]);
    await until(async () => (await farm.poolSize(backup)) === 4, 'the backup size');
    const miners = Array.from({ length: 3 }, (_, i) => farm.miner({ login: `${name}.s${i}`, extranonceSubscribe: true }));
    for (const miner of miners) expect((await miner.start()).result).toBe(true);
    for (const miner of miners) {
      // Sized (and the channel laid out) for the smallest pool the name may use: 4 - the proxy's byte.
      expect(miner.extranonce2Size).toBe(3);
      await miner.waitForJob();
      await miner.mineOne();
    }
    const before = new Map(miners.map((miner) => [miner, notifies(miner)]));
    await primary.stop();
    for (const miner of miners) {
      await miner.waitUntil(() => notifies(miner) > before.get(miner)!, 'work from the small backup', 5000);
      await miner.mine(2);
      expect(miner.notifications.filter((n) => n.method === 'mining.set_extranonce')).toEqual([]);
      expect(miner.rejected).toEqual([]);
      expect(miner.isClosed).toBe(false);
    }
    expect(backup.accepted).toHaveLength(6);
    expect(backup.rejected).toEqual([]);
  });
});

describe('authorize is true only when work follows', () => {
  const farm = new Farm();
  let blackHole: Server;
  const held: Socket[] = [];

  beforeAll(async () => {
    await farm.start(['--upstream.connectTimeout=1500ms', '--stratum.sessionLinger=30s']);
    // Accepts TCP and never says a word.
    blackHole = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
    await farm.stop();
  });

  it('answers a name whose only pool is down with the reason, within the connect timeout', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'down');
    await pool.stop();
    const miner = farm.miner({ login: name });
    const started = Date.now();
    const answer = await miner.start();
    expect(answer.result).toBeNull();
    expect(answer.error).toEqual([24, expect.stringMatching(new RegExp(`^pool unreachable: ${address(pool)}`)), null]);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(miner.isClosed).toBe(false);
  });

  it('answers within the connect timeout for a pool that accepts TCP and never answers', async () => {
    const port = (blackHole.address() as { port: number }).port;
    await farm.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port, algorithm: 'sha256' })
      .expect(201);
    const response = await farm.http
      .post('/api/v1/users')
      .send({ pool: `127.0.0.1:${port}`, user: 'silent' })
      .expect(201);
    const miner = farm.miner({ login: response.body.name as string });
    const started = Date.now();
    const answer = await miner.start();
    const waited = Date.now() - started;
    expect(answer.error).toEqual([24, `pool unreachable: 127.0.0.1:${port} (connect/handshake timeout)`, null]);
    expect(waited).toBeGreaterThan(1400);
    expect(waited).toBeLessThan(2500);
  });

  it('answers a share sent while the pool is down with pool_down, counted as such, and gives work when it returns', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'outage');
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    await miner.mineOne();
    await pool.stop();
    await until(() => !poolIsUp(farm, pool), 'the proxy to see the pool go');
    const answer = await miner.mineOne();
    expect(answer.error).toEqual([20, 'pool down: no working pool connection for this name, the share cannot be forwarded', null]);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(metrics, 'proxy_shares_rejected_total', { user: name, reason: 'pool_down' })).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'proxy_shares_rejected_total', { user: name, reason: 'stale' })).toBeUndefined();
    const before = notifies(miner);
    await pool.start();
    await miner.waitUntil(() => notifies(miner) > before, 'work when the pool returns', 5000);
    expect((await miner.mineOne()).result).toBe(true);
    expect(miner.isClosed).toBe(false);
  });
});

describe('small pool extranonce2 on the first connection', () => {
  const farm = new Farm();

  beforeAll(() => farm.start());
  afterAll(() => farm.stop());

  const learned = (pool: SimPool, size: number) =>
    until(async () => (await farm.poolSize(pool)) === size, `pool ${address(pool)} size ${size}`, 5000);

  it('mines on pools with extranonce2 sizes 4 and 3 for a miner that sends only a bare subscribe and authorize', async () => {
    const four = await farm.addPool({ extranonce2Size: 4 });
    const three = await farm.addPool({ extranonce2Size: 3 });
    // Nothing known yet: miners get 3 bytes, which fits a pool extranonce2 of 4 after the proxy's byte.
    const nameFour = await farm.register(four, 'four');
    const first = farm.miner({ login: nameFour, bareSubscribe: true });
    expect((await first.start()).result).toBe(true);
    expect(first.extranonce2Size).toBe(3);
    await first.waitForJob();
    await first.mine(3);
    expect(first.isClosed).toBe(false);
    await learned(four, 4);

    // A pool of 3 is learned at registration: from then on miners are told 2 bytes, on their first connection.
    const nameThree = await farm.register(three, 'three');
    await learned(three, 3);
    for (const login of [nameThree, nameFour]) {
      const miner = farm.miner({ login, bareSubscribe: true });
      expect((await miner.start()).result).toBe(true);
      expect(miner.extranonce2Size).toBe(2);
      await miner.waitForJob();
      await miner.mine(3);
      expect(miner.rejected).toEqual([]);
      expect(miner.notifications.filter((n) => n.method === 'mining.set_extranonce')).toEqual([]);
      expect(miner.isClosed).toBe(false);
    }
    expect(four.rejected).toEqual([]);
    expect(three.rejected).toEqual([]);
    expect(four.accepted).toHaveLength(6);
    expect(three.accepted).toHaveLength(3);
  });
});

describeEachStore('backup accounts through the API', (factory) => {
  const farm = new Farm();

  beforeAll(() => farm.start([], factory));
  afterAll(() => farm.stop());

  it('validates backups like the primary and lets the management API replace them', async () => {
    const primary = await farm.addPool();
    const backup = await farm.addPool();
    const scrypt = await farm.addPool({}, 'scrypt');
    const bad = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(primary), user: 'v', backups: [{ pool: '127.0.0.1:1', user: 'w' }] })
      .expect(404);
    expect(bad.body.error).toMatch(/^backups\[0\]: pool 127\.0\.0\.1:1 is not supported/);
    const mixed = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(primary), user: 'v', backups: [{ pool: address(scrypt), user: 'w' }] })
      .expect(400);
    expect(mixed.body.error).toContain('is scrypt');
    // The original body answers as before, and again with the same name.
    const first = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(primary), user: 'v', password: 'p' })
      .expect(201);
    const again = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(primary), user: 'v', password: 'p' })
      .expect(200);
    expect(again.body).toEqual({ name: first.body.name, error: '' });
    // Backups of a registered name change only with the token.
    const body = { pool: address(primary), user: 'v', password: 'p', backups: [{ pool: address(backup), user: 'w' }] };
    expect((await farm.http.post('/api/v1/users').send(body).expect(409)).body.error).toContain('/backups');
    const path = `/api/v1/users/${first.body.name}/backups`;
    await farm.http.put(path).send({ backups: [] }).expect(401);
    const replaced = await farm.http
      .put(path)
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ backups: [{ pool: address(backup), user: 'w', password: 'secret' }] })
      .expect(200);
    expect(replaced.body.backups).toEqual([{ pool: address(backup), user: 'w' }]);
    expect(JSON.stringify(replaced.body)).not.toContain('secret');
    await farm.http
      .post('/api/v1/users')
      .send({ ...body, backups: [{ pool: address(backup), user: 'w', password: 'secret' }] })
      .expect(200);
    // A pool a backup uses cannot be deleted.
    const pools = await farm.http.get('/api/v1/pools').expect(200);
    const id = (pools.body as { id: number; pool: string }[]).find((pool) => pool.pool === address(backup))!.id;
    await farm.http.delete(`/api/v1/pools/${id}`).set('Authorization', `Bearer ${TOKEN}`).expect(409);
    // Deleting the name deletes its backups with it: then the pool can go.
    await farm.http.delete(`/api/v1/users/${first.body.name}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    await farm.http.delete(`/api/v1/pools/${id}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });
});
