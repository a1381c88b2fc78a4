// SV2 upstream through the whole proxy: SV1 miners that hash for real, a simulated SV2 pool that checks every
// share (Noise, extended channel, sha256d against its own prefix and target), and SV1 pools as backups.
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { UpstreamChannels } from '../src/upstream/channels.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sample, sampleWith } from './support/metrics-text.js';
import type { SimMiner } from './support/sim-miner.js';
import { SimSv2Pool, type SimSv2PoolOptions } from './support/sim-sv2-pool.js';
import { until } from './support/until.js';

/**
 * A TCP relay in front of a pool that can be stopped and started again on the same port: the SV2 pool keeps
 * its keys (so its registered authority key stays right) while the proxy sees it go and come back.
 */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: () => number) {}

  async start(): Promise<number> {
    const server = createServer((inbound) => {
      const outbound = createConnection({ host: '127.0.0.1', port: this.target() });
      for (const socket of [inbound, outbound]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const notifies = (miner: SimMiner) => miner.notifications.filter((n) => n.method === 'mining.notify').length;

describe('Stratum V2 upstream', () => {
  const farm = new Farm();
  const sv2Pools: SimSv2Pool[] = [];
  const relays: Relay[] = [];
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;

  /** A simulated SV2 pool registered through the pools API, reached on `port` (its own, or a relay's). */
  async function addSv2Pool(
    options: SimSv2PoolOptions = {},
    relayed = false,
  ): Promise<{ pool: SimSv2Pool; address: string; relay?: Relay }> {
    const pool = new SimSv2Pool(options);
    await pool.start();
    sv2Pools.push(pool);
    let port = pool.port;
    let relay: Relay | undefined;
    if (relayed) {
      relay = new Relay(() => pool.port);
      relays.push(relay);
      port = await relay.start();
    }
    const response = await farm.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port, algorithm: 'sha256', protocol: 'sv2', authorityPubkey: pool.authorityPublicKey })
      .expect(201);
    expect(response.body).toMatchObject({ protocol: 'sv2', authorityPubkey: pool.authorityPublicKey, tls: false });
    return { pool, address: `127.0.0.1:${port}`, relay };
  }

  const url = (address: string, pool: SimSv2Pool) => `stratum2+tcp://${address}/${pool.authorityPublicKey}`;

  /** Registers an account with the SV2 URL form; waits for the size probe when the pool is new (it opens a channel). */
  async function register(
    address: string,
    pool: SimSv2Pool,
    user: string,
    backups: { pool: string; user: string }[] = [],
  ): Promise<string> {
    const response = await farm.http
      .post('/api/v1/users')
      .send({ pool: url(address, pool), user, backups })
      .expect(201);
    return response.body.name as string;
  }

  const poolSize = async (address: string) => {
    const pools = await farm.http.get('/api/v1/pools').expect(200);
    return (pools.body as { pool: string; extranonce2Size: number | null }[]).find((p) => p.pool === address)!.extranonce2Size;
  };

  /** Starts miners a batch at a time, each authorized and holding a job. */
  async function startAll(miners: SimMiner[], batch = 25): Promise<void> {
    for (let i = 0; i < miners.length; i += batch)
      await Promise.all(
        miners.slice(i, i + batch).map(async (miner) => {
          expect((await miner.start()).result).toBe(true);
          await miner.waitForJob();
        }),
      );
  }

  beforeAll(() =>
    farm.start(['--upstream.connectTimeout=2s', '--upstream.failbackAfter=2s', '--stratum.sessionLinger=30s', '--metrics.tag=t']),
  );
  afterAll(async () => {
    await farm.stop();
    for (const relay of relays) await relay.stop();
    for (const pool of sv2Pools) await pool.stop();
  });

  it('carries 100 hashing miners of one account on one extended channel: 0 rejects, the pool counts what /metrics counts', async () => {
    const { pool, address } = await addSv2Pool();
    const name = await register(address, pool, 'farm100');
    // The size probe opened a channel and learned the extranonce size the pool gives the proxy's request.
    await until(async () => (await poolSize(address)) !== null && pool.connections === 0, 'the SV2 size probe');
    expect(await poolSize(address)).toBe(8);
    const started = Date.now();
    const miners = Array.from({ length: 100 }, (_, i) => farm.miner({ login: `${name}.rig${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mine(2)));
    console.log(`sv2: 100 miners connected and 200 shares answered in ${Date.now() - started} ms`);

    expect(miners.flatMap((miner) => miner.rejected)).toEqual([]);
    expect(pool.connections).toBe(1);
    // One channel: the probe's opening and the miners' one, each for the account, asking room for slot + prefix + extranonce2.
    expect(pool.opens.map((open) => [open.userIdentity, open.minExtranonceSize])).toEqual([
      ['farm100', 6],
      ['farm100', 6],
    ]);
    // No miner behind the probe: nominal_hash_rate 0, as the spec asks of a proxy; the channel's a stand-in until measured.
    expect(pool.opens.map((open) => open.nominalHashRate)).toEqual([0, Math.fround(1e12)]);
    expect(pool.rejected).toBe(0);
    expect(pool.accepted).toBe(200);
    const text = await metrics();
    expect(sampleWith(text, 'proxy_worker_accepted', { pool: address })).toBe(pool.accepted);
    expect(sampleWith(text, 'proxy_worker_sended', { pool: address })).toBe(pool.accepted);
    expect(sample(text, 'proxy_pool_info', { proxy: 't', pool: address, protocol: 'sv2' })).toBe(1);
    expect(sample(text, 'proxy_pool_up', { proxy: 't', hash: 'sha256', pool: address })).toBe(1);

    // The measured hashrate reaches the pool as UpdateChannel (the service's timer does this every 30 s).
    farm.get(UpstreamChannels).refreshNominalHashRates();
    await until(() => pool.updates.length > 0, 'an UpdateChannel');
    expect(pool.updates[0].nominalHashRate).toBeGreaterThan(0);
    for (const miner of miners) await miner.close();
  });

  it('opens a channel per rig on an SV2 pool with rig worker names: the pool counts each rig what the proxy counts for it', async () => {
    const { pool, address } = await addSv2Pool();
    const entry = ((await farm.http.get('/api/v1/pools').expect(200)).body as { id: number; pool: string }[]).find(
      (p) => p.pool === address,
    )!;
    await farm.http.patch(`/api/v1/pools/${entry.id}`).set('Authorization', `Bearer ${TOKEN}`).send({ workerNames: 'rig' }).expect(200);
    const name = await register(address, pool, 'farm.main');
    await until(async () => (await poolSize(address)) !== null && pool.connections === 0, 'the SV2 size probe');
    pool.opens.length = 0;
    // Two miners of rigA share its channel; a miner without a rig label mines on the account's.
    const logins = ['rigA', 'rigA', 'rigB', 'rigC'].map((rig) => `${name}.${rig}`);
    const miners = [...logins, name].map((login) => farm.miner({ login }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mine(3)));
    expect(miners.flatMap((miner) => miner.rejected)).toEqual([]);
    // user_identity in the account.worker form, the account's own worker part replaced by the rig.
    expect(pool.opens.map((open) => open.userIdentity).sort()).toEqual(['farm.main', 'farm.rigA', 'farm.rigB', 'farm.rigC']);
    expect(pool.rejected).toBe(0);
    const text = await metrics();
    const rigAccepted = (rig: string) => sampleWith(text, 'proxy_rig_shares_total', { proxy: 't', user: name, rig, result: 'accepted' });
    expect(pool.counts.get('farm.rigA')?.accepted).toBe(6);
    for (const rig of ['rigA', 'rigB', 'rigC']) expect(pool.counts.get(`farm.${rig}`)?.accepted).toBe(rigAccepted(rig));
    expect(pool.counts.get('farm.main')?.accepted).toBe(3);

    // The same miner re-authorized as another rig moves to that rig's channel.
    const moved = miners[3];
    const seen = moved.notifications.length;
    expect((await moved.request('mining.authorize', [`${name}.rigD`, 'x'])).result).toBe(true);
    await until(() => moved.notifications.slice(seen).some((note) => note.method === 'mining.notify'), 'a job on the rigD channel');
    await moved.mine(2);
    expect(pool.counts.get('farm.rigD')?.accepted).toBe(2);
    for (const miner of miners) await miner.close();
  });

  it('answers a share the pool rejects with its reason and counts it as rejected', async () => {
    const { pool, address } = await addSv2Pool({ rejectAll: 'difficulty-too-low' });
    const name = await register(address, pool, 'refused-shares');
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    const answer = await miner.mineOne();
    expect(answer.result).not.toBe(true);
    // The pool's own words, with the SV1 code they map to (23: low difficulty).
    expect(answer.error).toEqual([23, 'difficulty-too-low', null]);
    expect(pool.rejected).toBe(1);
    const text = await metrics();
    expect(sampleWith(text, 'proxy_shares_total', { user: name, result: 'rejected' })).toBe(1);
    expect(
      sample(text, 'proxy_shares_rejected_total', { proxy: 't', user: name, hash: 'sha256', pool: address, reason: 'low_difficulty' }),
    ).toBe(1);
    expect(sampleWith(text, 'proxy_shares_total', { user: name, result: 'accepted' })).toBeUndefined();
    expect(sampleWith(text, 'proxy_worker_accepted', { pool: address }) ?? 0).toBe(0);
    expect(sampleWith(text, 'proxy_worker_sended', { pool: address })).toBe(1);
    await miner.close();
  });

  it('gets the miner an authorize error naming the failure when the pool certificate is not signed by the registered key', async () => {
    const { pool, address } = await addSv2Pool({ wrongAuthorityKey: true });
    const name = await register(address, pool, 'wrong-key');
    const miner = farm.miner({ login: name });
    const answer = await miner.start();
    expect(answer.result).toBeNull();
    expect(answer.error).toEqual([
      24,
      expect.stringMatching(new RegExp(`^pool unreachable: ${address} \\(Noise handshake failed \\(bad-signature\\): .*authority key`)),
      null,
    ]);
    expect(miner.isClosed).toBe(false);
    const text = await metrics();
    expect(
      sample(text, 'proxy_sv2_security_failures_total', { proxy: 't', pool: address, stage: 'handshake', reason: 'bad_signature' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'proxy_upstream_connects_total', { proxy: 't', pool: address, outcome: 'tls_failure' })).toBeGreaterThanOrEqual(1);
    expect(pool.setups).toEqual([]);
    await miner.close();
  });

  it('names an expired certificate to the miner', async () => {
    const { pool, address } = await addSv2Pool({ expiredCertificate: true });
    const name = await register(address, pool, 'expired');
    const miner = farm.miner({ login: name });
    const answer = await miner.start();
    expect(answer.error).toEqual([24, expect.stringContaining('Noise handshake failed (certificate-expired)'), null]);
    await miner.close();
  });

  it("names the pool's refusal of the channel to the miner", async () => {
    const { pool, address } = await addSv2Pool({ refuseChannel: 'unknown-user' });
    const name = await register(address, pool, 'nobody');
    const miner = farm.miner({ login: name });
    const answer = await miner.start();
    expect(answer.result).toBeNull();
    expect(answer.error).toEqual([24, 'pool refused: OpenMiningChannel.Error: unknown-user', null]);
    const text = await metrics();
    expect(sample(text, 'proxy_upstream_connects_total', { proxy: 't', pool: address, outcome: 'refused' })).toBeGreaterThanOrEqual(1);
    await miner.close();
  });

  it('drops the connection on a tampered frame, counts it, and reconnects with the miner still connected', async () => {
    const { pool, address } = await addSv2Pool();
    const name = await register(address, pool, 'tampered');
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    expect((await miner.mineOne()).result).toBe(true);
    const before = notifies(miner);
    pool.tamperNextFrame();
    pool.newJob();
    await miner.waitUntil(() => notifies(miner) > before && miner.job!.clean, 'a clean job after the reconnect', 8000);
    expect((await miner.mineOne()).result).toBe(true);
    expect(miner.isClosed).toBe(false);
    const text = await metrics();
    expect(
      sample(text, 'proxy_sv2_security_failures_total', { proxy: 't', pool: address, stage: 'transport', reason: 'decryption_failed' }),
    ).toBe(1);
    await miner.close();
  });

  it('moves miners from a stopped SV2 primary to an SV1 backup and back, none disconnected, none rejected', async () => {
    const { pool: primary, address, relay } = await addSv2Pool({}, true);
    // The SV2 pool's difficulty: every share the miners find is then forwarded to either pool.
    const backup = await farm.addPool({ extranonce2Size: 8, difficulty: 2 ** -28 });
    const backupAddress = `127.0.0.1:${backup.port}`;
    const name = await register(address, primary, 'main', [{ pool: `stratum+tcp://${backupAddress}`, user: 'spare' }]);
    await until(async () => (await poolSize(address)) !== null && (await poolSize(backupAddress)) !== null, 'both size probes');
    const miners = Array.from({ length: 10 }, (_, i) => farm.miner({ login: `${name}.f${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(primary.counts.get('main')?.accepted).toBe(10);

    let before = miners.map(notifies);
    await relay!.stop();
    await Promise.all(miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'work from the SV1 backup', 8000)));
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(backup.accepted.filter((share) => share.user === 'spare')).toHaveLength(10);
    let text = await metrics();
    expect(sample(text, 'proxy_failovers_total', { proxy: 't', user: name, from: address, to: backupAddress, reason: 'unreachable' })).toBe(
      1,
    );

    before = miners.map(notifies);
    await relay!.start();
    await Promise.all(
      miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'work from the SV2 primary again', 10_000)),
    );
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(primary.counts.get('main')?.accepted).toBe(20);
    text = await metrics();
    expect(sample(text, 'proxy_failovers_total', { proxy: 't', user: name, from: backupAddress, to: address, reason: 'failback' })).toBe(1);
    for (const miner of miners) {
      expect(miner.isClosed).toBe(false);
      expect(miner.rejected).toEqual([]);
    }
    expect(primary.rejected).toBe(0);
    expect(backup.rejected).toEqual([]);
    for (const miner of miners) await miner.close();
  });

  it('moves miners from a stopped SV1 primary to an SV2 backup and back', async () => {
    const primary = await farm.addPool({ extranonce2Size: 8, difficulty: 2 ** -28 });
    const primaryAddress = `127.0.0.1:${primary.port}`;
    const { pool: backup, address } = await addSv2Pool();
    const response = await farm.http
      .post('/api/v1/users')
      .send({ pool: primaryAddress, user: 'first', backups: [{ pool: url(address, backup), user: 'second' }] })
      .expect(201);
    const name = response.body.name as string;
    await until(async () => (await poolSize(primaryAddress)) !== null && (await poolSize(address)) !== null, 'both size probes');
    const miners = Array.from({ length: 5 }, (_, i) => farm.miner({ login: `${name}.r${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(primary.accepted.filter((share) => share.user === 'first')).toHaveLength(5);

    let before = miners.map(notifies);
    await primary.stop();
    await Promise.all(miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'work from the SV2 backup', 8000)));
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(backup.counts.get('second')?.accepted).toBe(5);

    before = miners.map(notifies);
    await primary.start();
    await Promise.all(
      miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'work from the SV1 primary again', 10_000)),
    );
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(primary.accepted.filter((share) => share.user === 'first')).toHaveLength(10);
    // Each pool an open channel may use, with its protocol.
    const text = await metrics();
    expect(sample(text, 'proxy_pool_info', { proxy: 't', pool: primaryAddress, protocol: 'sv1' })).toBe(1);
    expect(sample(text, 'proxy_pool_info', { proxy: 't', pool: address, protocol: 'sv2' })).toBe(1);
    for (const miner of miners) {
      expect(miner.isClosed).toBe(false);
      expect(miner.rejected).toEqual([]);
    }
    expect(backup.rejected).toBe(0);
    for (const miner of miners) await miner.close();
  });

  it('validates SV2 pools in the pools API and SV2 URLs in registration', async () => {
    const pool = new SimSv2Pool();
    const key = pool.authorityPublicKey;
    const create = (body: object) =>
      farm.http
        .post('/api/v1/pools')
        .set('Authorization', `Bearer ${TOKEN}`)
        .send({ host: '127.0.0.1', algorithm: 'sha256', ...body });
    const typo = `${key.slice(0, -1)}${key.endsWith('a') ? 'b' : 'a'}`;
    expect((await create({ port: 1, protocol: 'sv2', authorityPubkey: typo }).expect(400)).body.error).toMatch(
      /^authorityPubkey must be the SV2 authority public key the pool publishes \(base58check\): authority key is not valid base58check/,
    );
    expect((await create({ port: 1, protocol: 'sv2' }).expect(400)).body.error).toBe(
      'authorityPubkey is required for an SV2 pool: the base58check key the pool publishes',
    );
    expect((await create({ port: 1, protocol: 'sv3' }).expect(400)).body.error).toBe('protocol must be "sv1" or "sv2"');
    expect((await create({ port: 1, protocol: 'sv1', authorityPubkey: key }).expect(400)).body.error).toContain('SV2 pools only');
    expect((await create({ port: 1, protocol: 'sv2', authorityPubkey: key, tls: true }).expect(400)).body.error).toContain('Noise');
    // An SV1 pool's answer only gained fields; a key alone makes an SV2 pool.
    const sv1 = await create({ port: 2 }).expect(201);
    expect(sv1.body).toMatchObject({ pool: '127.0.0.1:2', tls: false, tlsFingerprint: null, protocol: 'sv1', authorityPubkey: null });
    const sv2 = await create({ port: 3, authorityPubkey: key }).expect(201);
    expect(sv2.body).toMatchObject({ protocol: 'sv2', authorityPubkey: key });
    // Changed by hand: back to SV1 drops the key; a key makes it SV2 again; TLS cannot be switched on for SV2.
    const patch = (id: number, body: object) => farm.http.patch(`/api/v1/pools/${id}`).set('Authorization', `Bearer ${TOKEN}`).send(body);
    const changing = (await create({ port: 4, authorityPubkey: key }).expect(201)).body as { id: number };
    expect((await patch(changing.id, { protocol: 'sv1' }).expect(200)).body).toMatchObject({ protocol: 'sv1', authorityPubkey: null });
    expect((await patch(changing.id, { authorityPubkey: key }).expect(200)).body).toMatchObject({ protocol: 'sv2', authorityPubkey: key });
    expect((await patch(changing.id, { tls: true }).expect(400)).body.error).toContain('do not apply to an SV2 pool');
    expect((await patch(changing.id, { authorityPubkey: 'x' }).expect(400)).body.error).toMatch(
      /^authorityPubkey must be the SV2 authority public key/,
    );

    const registerAs = (poolText: string) => farm.http.post('/api/v1/users').send({ pool: poolText, user: 'u' });
    expect((await registerAs('stratum+tcp://127.0.0.1:3').expect(400)).body.error).toBe(
      `pool 127.0.0.1:3 is registered as a Stratum V2 pool: use stratum2+tcp://127.0.0.1:3/${key}`,
    );
    expect((await registerAs(`stratum2+tcp://127.0.0.1:2/${key}`).expect(400)).body.error).toBe(
      'pool 127.0.0.1:2 is registered as a Stratum V1 pool: use stratum+tcp://127.0.0.1:2',
    );
    const other = new SimSv2Pool().authorityPublicKey;
    expect((await registerAs(`stratum2+tcp://127.0.0.1:3/${other}`).expect(400)).body.error).toBe(
      `pool 127.0.0.1:3 is registered with another authority key: use stratum2+tcp://127.0.0.1:3/${key}`,
    );
    expect((await registerAs(`stratum2+tcp://127.0.0.1:3/${typo}`).expect(400)).body.error).toMatch(
      /the part after the address must be the pool's SV2 authority key/,
    );
    // Backups say which entry was wrong.
    const backup = await farm.http
      .post('/api/v1/users')
      .send({ pool: '127.0.0.1:2', user: 'u', backups: [{ pool: 'stratum+tcp://127.0.0.1:3', user: 'w' }] })
      .expect(400);
    expect(backup.body.error).toMatch(/^backups\[0\]: pool 127\.0\.0\.1:3 is registered as a Stratum V2 pool/);
    await registerAs(`stratum2+tcp://127.0.0.1:3/${key}`).expect(201);
    await registerAs('127.0.0.1:3').expect(200);
  });
});
