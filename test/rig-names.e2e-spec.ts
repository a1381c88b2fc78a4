// Every rig at the pool (issue 23): with a pool's workerNames `rig`, each rig of a channel is authorized on
// the shared connection as `account.rig` and its shares go under that name; the pool's own counts per worker
// are checked against the proxy's per-rig counts. And a channel whose miners share one firmware subscribes
// with its user agent.
import { USER_AGENT, UpstreamChannels } from '../src/upstream/channels.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sampleWith } from './support/metrics-text.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool, SimPoolOptions } from './support/sim-pool.js';
import { until } from './support/until.js';

describe('worker names per rig (pools API workerNames)', () => {
  const farm = new Farm();
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;

  // A short linger: a miner that left (sent no share) leaves its channel within it; miners outlast a pool's 1 s reconnect.
  beforeAll(() => farm.start(['--upstream.connectTimeout=2s', '--metrics.tag=t', '--stratum.sessionLinger=4s']));
  afterAll(() => farm.stop());

  /** A simulated pool registered with the given workerNames (set by PATCH, as an operator would). */
  async function pool(options: SimPoolOptions, workerNames?: 'account' | 'rig'): Promise<SimPool> {
    const sim = await farm.addPool(options);
    if (workerNames) {
      const pools = (await farm.http.get('/api/v1/pools').expect(200)).body as { id: number; pool: string; workerNames: string }[];
      const entry = pools.find((p) => p.pool === `127.0.0.1:${sim.port}`)!;
      expect(entry.workerNames).toBe('account');
      const patched = await farm.http
        .patch(`/api/v1/pools/${entry.id}`)
        .set('Authorization', `Bearer ${TOKEN}`)
        .send({ workerNames })
        .expect(200);
      expect(patched.body.workerNames).toBe(workerNames);
    }
    return sim;
  }

  async function startAll(miners: SimMiner[]): Promise<void> {
    for (const miner of miners) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }
  }

  /** The proxy's channels on a pool. */
  const channelsOf = (sim: SimPool) =>
    Array.from(farm.get(UpstreamChannels).all()).filter((c) => c.poolAddress === `127.0.0.1:${sim.port}`);
  const byUser = (sim: SimPool) => {
    const counts: Record<string, number> = {};
    for (const share of sim.accepted) counts[share.user] = (counts[share.user] ?? 0) + 1;
    return counts;
  };
  const rigAccepted = async (name: string, rig: string) =>
    sampleWith(await metrics(), 'proxy_rig_shares_total', { proxy: 't', user: name, rig, result: 'accepted' }) ?? 0;

  it('authorizes 3 rigs on one connection, submits each rig under its name, and again after a reconnect', async () => {
    const sim = await pool({ workers: 'accept' }, 'rig');
    const name = await farm.register(sim, 'farm');
    sim.authorizations.length = 0; // the size probe's
    const rigs = ['rigA', 'rigB', 'rigC'];
    const miners = rigs.map((rig) => farm.miner({ login: `${name}.${rig}` }));
    const plain = farm.miner({ login: name });
    await startAll([...miners, plain]);
    expect(sim.connectionsAccepted).toBe(1);
    await until(() => channelsOf(sim)[0]?.authorizedWorkers.length === 3, 'three workers authorized');
    expect(sim.authorizations.slice().sort()).toEqual(['farm', ...rigs.map((rig) => `farm.${rig}`)].sort());

    for (let round = 0; round < 4; round++) for (const miner of [...miners, plain]) await miner.mineOne();
    expect(sim.rejected).toEqual([]);
    expect(byUser(sim)).toEqual({ farm: 4, 'farm.rigA': 4, 'farm.rigB': 4, 'farm.rigC': 4 });
    // The pool's count per worker is the proxy's per rig.
    for (const rig of rigs) await until(async () => (await rigAccepted(name, rig)) === byUser(sim)[`farm.${rig}`], `rig ${rig} counted`);

    // A new connection (the pool dropped it): the rigs present are authorized on it again.
    sim.dropAll();
    await until(() => sim.authorizations.length === 8 && channelsOf(sim)[0]?.authorizedWorkers.length === 3, 'workers again');
    await Promise.all([...miners, plain].map((miner) => miner.waitForJob()));
    for (const miner of miners) await miner.mineOne();
    expect(sim.rejected).toEqual([]);
    expect(byUser(sim)).toEqual({ farm: 4, 'farm.rigA': 5, 'farm.rigB': 5, 'farm.rigC': 5 });
    for (const miner of [...miners, plain]) await miner.close();
  });

  for (const refusal of ['refuse', 'error'] as const) {
    it(`mines as the account where the pool refuses extra workers (${refusal}), nothing rejected`, async () => {
      const sim = await pool({ workers: refusal }, 'rig');
      const name = await farm.register(sim, `acct-${refusal}.default`);
      sim.authorizations.length = 0; // the size probe's
      const before = sampleWith(await metrics(), 'proxy_protocol_errors_total', { side: 'pool', kind: 'worker_refused' }) ?? 0;
      const miners = ['r1', 'r2', 'r3'].map((rig) => farm.miner({ login: `${name}.${rig}` }));
      await startAll(miners);
      await until(
        async () => sampleWith(await metrics(), 'proxy_protocol_errors_total', { side: 'pool', kind: 'worker_refused' }) === before + 3,
        'three refusals counted',
      );
      // The account's own worker part is replaced by the rig's.
      expect(sim.authorizations.slice(1).sort()).toEqual([`acct-${refusal}.r1`, `acct-${refusal}.r2`, `acct-${refusal}.r3`]);
      for (const miner of miners) await miner.mine(2);
      expect(sim.rejected).toEqual([]);
      expect(miners.flatMap((miner) => miner.rejected)).toEqual([]);
      expect(byUser(sim)).toEqual({ [`acct-${refusal}.default`]: 6 });
      for (const miner of miners) await miner.close();
    });
  }

  it('takes workerNames in POST and PATCH /api/v1/pools, with a plain message for a wrong value', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const created = await farm.http
      .post('/api/v1/pools')
      .set(auth)
      .send({ host: 'rigs.example.com', port: 3333, algorithm: 'sha256', workerNames: 'rig' })
      .expect(201);
    expect(created.body.workerNames).toBe('rig');
    const wrong = await farm.http.patch(`/api/v1/pools/${created.body.id}`).set(auth).send({ workerNames: 'miner' }).expect(400);
    expect(wrong.body.error).toBe('workerNames must be "account" or "rig"');
    const back = await farm.http.patch(`/api/v1/pools/${created.body.id}`).set(auth).send({ workerNames: 'account' }).expect(200);
    expect(back.body.workerNames).toBe('account');
    await farm.http.delete(`/api/v1/pools/${created.body.id}`).set(auth).expect(200);
  });

  it('keeps one worker, the account, on a pool left at the default (account)', async () => {
    const sim = await pool({ workers: 'accept' });
    const name = await farm.register(sim, 'single');
    sim.authorizations.length = 0; // the size probe's
    const miners = ['x1', 'x2'].map((rig) => farm.miner({ login: `${name}.${rig}` }));
    await startAll(miners);
    for (const miner of miners) await miner.mine(2);
    expect(sim.authorizations).toEqual(['single']);
    expect(byUser(sim)).toEqual({ single: 4 });
    for (const miner of miners) await miner.close();
  });

  it("subscribes with the miners' user agent where they all agree, and with its own where they differ", async () => {
    const sim = await pool({});
    const name = await farm.register(sim, 'agents');
    const probes = sim.userAgents.length;
    const first = farm.miner({ login: `${name}.a`, agent: 'bmminer/2.0.0' });
    const second = farm.miner({ login: `${name}.b`, agent: 'bmminer/2.0.0' });
    await startAll([first, second]);
    expect(sim.userAgents.slice(probes)).toEqual(['bmminer/2.0.0']);
    // Another firmware joins: nothing reconnects for it; at the next connection the proxy's own agent is sent.
    const other = farm.miner({ login: `${name}.c`, agent: 'cgminer/4.12.1' });
    await startAll([other]);
    expect(sim.connectionsAccepted).toBe(1);
    sim.dropAll();
    await until(() => sim.userAgents.length === probes + 2, 'the channel to subscribe again');
    expect(sim.userAgents[probes + 1]).toBe(USER_AGENT);
    // The other firmware leaves: one firmware again, sent at the next connection.
    await other.close();
    await until(() => channelsOf(sim)[0]?.sessionCount === 2, 'the other firmware to leave the channel');
    await Promise.all([first, second].map((miner) => miner.waitForJob()));
    sim.dropAll();
    await until(() => sim.userAgents.length === probes + 3, 'the channel to subscribe once more');
    expect(sim.userAgents[probes + 2]).toBe('bmminer/2.0.0');
    for (const miner of [first, second]) await miner.close();
  });
});
