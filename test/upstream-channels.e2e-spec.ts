// Upstream channels: many miners on one pool connection per account, counted at the simulated pool, which
// checks every share with real sha256d against its own extranonce1 and difficulty.
import { AccountingService } from '../src/accounting/accounting.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sample, samples } from './support/metrics-text.js';
import type { SimMiner } from './support/sim-miner.js';

/** Starts miners a batch at a time (a farm powering up), each authorized and holding a job. */
async function startAll(miners: SimMiner[], batch = 50): Promise<void> {
  for (let i = 0; i < miners.length; i += batch) {
    await Promise.all(
      miners.slice(i, i + batch).map(async (miner) => {
        expect((await miner.start()).result).toBe(true);
        await miner.waitForJob();
      }),
    );
  }
}

const notifies = (miner: SimMiner) => miner.notifications.filter((n) => n.method === 'mining.notify').length;

/**
 * Hundreds of miners each hash a share in this one test process: at 2^-26 (64 hashes a share) the hashing
 * is negligible and the suites measure the proxy, not the test process's CPU.
 */
const CROWD_DIFFICULTY = 2 ** -26;

describe('upstream channels (--upstream.aggregation 256, the default)', () => {
  const farm = new Farm();
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;

  beforeAll(() => farm.start(['--upstream.connectTimeout=2s', '--metrics.tag=t']));
  afterAll(() => farm.stop());

  it('carries 300 miners of one account on 2 pool connections, every share accepted, no extranonce used twice', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, difficulty: CROWD_DIFFICULTY });
    const name = await farm.register(pool, 'farm300');
    const miners = Array.from({ length: 300 }, (_, i) => farm.miner({ login: `${name}.rig${i}` }));
    await startAll(miners);
    expect(pool.connectionsAccepted).toBe(2);
    expect(new Set(miners.map((miner) => miner.extranonce1)).size).toBe(256);
    for (const miner of miners) await miner.mineOne();

    expect(miners.flatMap((miner) => miner.rejected)).toEqual([]);
    expect(pool.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(300);
    const used = pool.accepted.map((share) => `${share.extranonce1}/${share.extranonce2}`);
    expect(new Set(used).size).toBe(300);

    const text = await metrics();
    const address = `127.0.0.1:${pool.port}`;
    expect(sample(text, 'proxy_pool_connections', { proxy: 't', pool: address })).toBe(2);
    const perChannel = samples(text, 'proxy_channel_sessions')
      .filter((line) => line.includes(`pool="${address}"`))
      .map((line) => Number(line.split(' ').pop()))
      .sort((a, b) => b - a);
    expect(perChannel).toEqual([256, 44]);
    // Identity stays per miner: one worker series each.
    expect(samples(text, 'proxy_worker_accepted').filter((line) => line.includes(`pool="${address}"`))).toHaveLength(300);
    for (const miner of miners) await miner.close();
  }, 60_000);

  it('fills channels when the miners of two accounts connect interleaved and their prefixes repeat', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, difficulty: CROWD_DIFFICULTY });
    const names = [await farm.register(pool, 'even'), await farm.register(pool, 'odd')];
    // 600 miners alternating between the accounts: each account's prefixes repeat after 128 miners.
    const miners = Array.from({ length: 600 }, (_, i) => farm.miner({ login: `${names[i % 2]}.m${i}` }));
    await startAll(miners);
    const prefixes = (account: number) => miners.filter((_, i) => i % 2 === account).map((miner) => miner.extranonce1);
    expect(new Set(prefixes(0)).size).toBe(128);
    // 300 miners per account: 256 + 44, so 2 connections each (3 each if a channel held every prefix once).
    expect(pool.connectionsAccepted).toBe(4);
    await Promise.all(miners.map((miner) => miner.mineOne()));
    expect(miners.flatMap((miner) => miner.rejected)).toEqual([]);
    expect(pool.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(600);
    expect(new Set(pool.accepted.map((share) => `${share.extranonce1}/${share.extranonce2}`)).size).toBe(600);
    for (const miner of miners) await miner.close();
  }, 60_000);

  it('never seats miners of two accounts on one channel', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const alice = await farm.register(pool, 'alice');
    const bob = await farm.register(pool, 'bob');
    const miners = [alice, bob, alice, bob, alice, bob].map((name, i) => farm.miner({ login: `${name}.m${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mine(2)));
    expect(pool.connectionsAccepted).toBe(2);
    expect([...pool.peers].map((peer) => peer.user).sort((a, b) => String(a).localeCompare(String(b)))).toEqual(['alice', 'bob']);
    expect(pool.rejected).toEqual([]);
    // Each account's shares came over its own connection: 3 miners x 2 shares each.
    for (const user of ['alice', 'bob']) {
      const shares = pool.accepted.filter((share) => share.user === user);
      expect(shares).toHaveLength(6);
      expect(new Set(shares.map((share) => share.extranonce1)).size).toBe(1);
    }
  });

  it('rides out a channel reconnect and a pool set_extranonce with 50 miners: none disconnected, none rejected, all get new work', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'fifty');
    const miners = Array.from({ length: 50 }, (_, i) => farm.miner({ login: `${name}.r${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mine(1)));
    expect(pool.connectionsAccepted).toBe(1);

    // The pool drops the channel's connection: the channel reconnects alone, the miners keep theirs.
    let before = miners.map(notifies);
    pool.dropAll();
    await Promise.all(miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'a job after the reconnect', 8000)));
    expect(pool.connectionsAccepted).toBe(2);
    for (const miner of miners) expect(miner.job!.clean).toBe(true);
    await Promise.all(miners.map((miner) => miner.mine(1)));

    // The pool changes the channel's extranonce1: only the proxy's rewriting changes.
    before = miners.map(notifies);
    pool.setExtranonce();
    await Promise.all(miners.map((miner, i) => miner.waitUntil(() => notifies(miner) > before[i], 'a job after set_extranonce')));
    await Promise.all(miners.map((miner) => miner.mine(1)));

    for (const miner of miners) {
      expect(miner.isClosed).toBe(false);
      expect(miner.rejected).toEqual([]);
      expect(miner.notifications.filter((n) => n.method === 'mining.set_extranonce')).toEqual([]);
    }
    expect(pool.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(150);
    expect(pool.connectionsAccepted).toBe(2);
  });
});

describe('a pool of its own aggregation (pools API)', () => {
  const farm = new Farm();
  beforeAll(() => farm.start());
  afterAll(() => farm.stop());

  it('gives each miner of a pool set to aggregation 1 its own connection, and goes back to the default when cleared', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const listed = await farm.http.get('/api/v1/pools').expect(200);
    const id = (listed.body as { id: number; port: number }[]).find((view) => view.port === pool.port)!.id;
    const patched = await farm.http
      .patch(`/api/v1/pools/${id}`)
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ aggregation: 1 })
      .expect(200);
    expect(patched.body.aggregation).toBe(1);
    await farm.http.patch(`/api/v1/pools/${id}`).set('Authorization', `Bearer ${TOKEN}`).send({ aggregation: 0 }).expect(400);
    const name = await farm.register(pool, 'own');
    const solo = Array.from({ length: 3 }, (_, i) => farm.miner({ login: `${name}.s${i}` }));
    await startAll(solo);
    await Promise.all(solo.map((miner) => miner.mine(1)));
    expect(pool.connectionsAccepted).toBe(3);

    const cleared = await farm.http.patch(`/api/v1/pools/${id}`).set('Authorization', `Bearer ${TOKEN}`).send({ aggregation: null });
    expect(cleared.body.aggregation).toBeNull();
    const shared = Array.from({ length: 3 }, (_, i) => farm.miner({ login: `${name}.t${i}` }));
    await startAll(shared);
    await Promise.all(shared.map((miner) => miner.mine(1)));
    // New channels take the proxy's default (256): the three newcomers share one more connection.
    expect(pool.connectionsAccepted).toBe(4);
    expect(pool.rejected).toEqual([]);
  });
});

describe('--upstream.aggregation 1 (the original: one pool connection per miner)', () => {
  const farm = new Farm();
  beforeAll(() => farm.start(['--upstream.aggregation=1']));
  afterAll(() => farm.stop());

  it('opens one pool connection per miner of the same account', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'solo');
    const miners = Array.from({ length: 5 }, (_, i) => farm.miner({ login: `${name}.r${i}` }));
    await startAll(miners);
    await Promise.all(miners.map((miner) => miner.mine(2)));
    expect(pool.connectionsAccepted).toBe(5);
    expect(new Set(pool.accepted.map((share) => share.extranonce1)).size).toBe(5);
    expect(pool.rejected).toEqual([]);
  });
});

describe('miner difficulty of its own (vardiff)', () => {
  const farm = new Farm();
  // The pool's difficulty: 2^-15, about 131,000 hashes a share.
  const POOL_DIFFICULTY = 2 ** -15;
  const WINDOW_MS = 20_000;
  let jobs: NodeJS.Timeout | undefined;

  beforeAll(() =>
    farm.start([
      '--metrics.tag=t',
      // 20 shares a second per miner, 400 in the speed window: the Poisson noise of a rate measured from
      // shares is about 5 %, well inside the 20 % the speeds are checked against.
      '--vardiff.shareInterval=50ms',
      '--vardiff.minDifficulty=0.0000000001',
      `--metrics.speedWindow=${WINDOW_MS}ms`,
    ]),
  );
  afterAll(async () => {
    clearInterval(jobs);
    await farm.stop();
  });

  it("honours a miner's mining.suggest_difficulty within the bounds: never above the pool's", async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, difficulty: POOL_DIFFICULTY });
    const name = await farm.register(pool, 'suggest');
    // Sent before subscribe, as some firmware does: it sets the starting difficulty.
    const early = farm.miner({ login: `${name}.early`, suggestDifficulty: 2 ** -18 });
    await early.start();
    await early.waitForJob();
    expect(early.difficulty).toBe(2 ** -18);
    await early.mine(2);
    expect(early.rejected).toEqual([]);
    // Later, above the pool's: the pool's difficulty is the ceiling.
    await early.request('mining.suggest_difficulty', [1]);
    await early.waitUntil(() => early.difficulty === POOL_DIFFICULTY, "the pool's difficulty");
    // A suggestion on a channel shared with others never reaches the pool.
    expect(pool.methods).not.toContain('mining.suggest_difficulty');
  });

  it('settles a fast and a slow miner on one channel at their own difficulties; the pool gets only shares meeting its target', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, difficulty: POOL_DIFFICULTY });
    const name = await farm.register(pool, 'vardiff');
    const fast = farm.miner({ login: `${name}.fast` });
    const slow = farm.miner({ login: `${name}.slow` });
    await startAll([fast, slow]);
    expect(fast.difficulty).toBe(POOL_DIFFICULTY); // nothing known of the miner yet: the pool's difficulty
    // A job a second, as pools send them: a new difficulty applies from the next job.
    jobs = setInterval(() => pool.newJob(false), 1000);
    const FAST = 60_000;
    const SLOW = 15_000;
    const [fastRun, slowRun] = await Promise.all([fast.hashAt(FAST, WINDOW_MS + 6000), slow.hashAt(SLOW, WINDOW_MS + 6000)]);
    clearInterval(jobs);
    const accounting = farm.get(AccountingService);
    accounting.refreshSpeeds();
    const text = (await farm.http.get('/metrics').expect(200)).text;

    // Every share found was valid at the miner's difficulty and answered true.
    for (const run of [fastRun, slowRun]) {
      expect(run.answers.length).toBeGreaterThan(100);
      expect(run.answers.filter((answer) => answer.result !== true)).toEqual([]);
    }
    // Settled near one share per 50 ms: difficulty ~ rate * 0.05 s / 2^32, the fast one about 4x the slow one.
    // The rate is the one the miner really hashed at over the last window (a loaded machine slows it down).
    const settled = (rate: number) => (rate * 0.05) / 2 ** 32;
    const realRate = (run: typeof fastRun) => {
      const last = run.samples.at(-1)!;
      const first = run.samples.find((s) => s.at >= last.at - WINDOW_MS)!;
      return (last.hashes - first.hashes) / ((last.at - first.at) / 1000);
    };
    for (const [miner, run] of [
      [fast, fastRun],
      [slow, slowRun],
    ] as const) {
      expect(miner.difficulty).toBeGreaterThan(settled(realRate(run)) / 2.5);
      expect(miner.difficulty).toBeLessThan(settled(realRate(run)) * 2.5);
      expect(miner.difficulty).toBeLessThan(POOL_DIFFICULTY);
    }
    expect(fast.difficulty).toBeGreaterThan(slow.difficulty);
    // The pool saw only shares that meet its own target (it rejects the rest as low difficulty): none rejected.
    expect(pool.rejected).toEqual([]);
    expect(pool.accepted.length).toBeGreaterThan(3);
    expect(pool.accepted.length).toBeLessThan((fastRun.answers.length + slowRun.answers.length) / 5);

    // Each worker's speed (from every valid share at its own difficulty) within 20% of its real rate.
    const labels = (miner: SimMiner) => ({
      proxy: 't',
      worker: `127.0.0.1:${miner.socket!.localPort}`,
      user: name,
      hash: 'sha256',
      pool: `127.0.0.1:${pool.port}`,
    });
    for (const [miner, run] of [
      [fast, fastRun],
      [slow, slowRun],
    ] as const) {
      const real = realRate(run);
      const measured = sample(text, 'proxy_worker_speed', labels(miner))!;
      expect(measured / real).toBeGreaterThan(0.8);
      expect(measured / real).toBeLessThan(1.2);
      expect(sample(text, 'proxy_worker_valid_shares_total', labels(miner))).toBe((miner === fast ? fastRun : slowRun).answers.length);
      expect(sample(text, 'proxy_worker_difficulty', labels(miner))).toBe(miner.difficulty);
    }
    // What reached the pool is what the original's counters count.
    const sent = (miner: SimMiner) => sample(text, 'proxy_worker_sended', labels(miner))!;
    expect(sent(fast) + sent(slow)).toBe(pool.accepted.length);
  }, 60_000);
});
