import { UpstreamChannels } from '../src/upstream/channels.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sampleWith as sample } from './support/metrics-text.js';
import { describeEachStore } from './support/stores.js';
import { until } from './support/until.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

/**
 * Routing by weight (issue 23) with simulated pools and miners that hash for real: a name with routes
 * 80/20 on two pools and 20 miners of 1x to 10x (two of each speed). The routing period is 6 s (decisions every 0.6 s); each pool's share difficulty is
 * 2^-25 (128 hashes), so that the windows hold thousands of shares and their luck is far inside 5 points.
 */
const PERIOD_MS = 6000;
const POOL_DIFFICULTY = 2 ** -25;
/** Hashes per second of the slowest miners; the others are 2x .. 10x (22,000 H/s in all). */
const UNIT = 200;
const MINERS = 20;
const speedOf = (i: number) => UNIT * ((i % 10) + 1);

/** The routing period shortened, vardiff off (the pool's difficulty), speeds over 5 s, sessions kept through moves. */
const ROUTING_FLAGS = [
  `--routing.period=${PERIOD_MS}ms`,
  '--vardiff.shareInterval=0',
  '--metrics.speedWindow=5s',
  '--stratum.sessionLinger=60s',
];

const address = (pool: SimPool) => `127.0.0.1:${pool.port}`;
const manage = () => ({ Authorization: `Bearer ${TOKEN}` });

/** Accepted shares of each pool since the counts given (all pools have the same difficulty: shares are work). */
const counts = (pools: readonly SimPool[]) => pools.map((pool) => pool.accepted.length);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The split of the work the pools accepted over `ms`, in percent of the first. */
async function splitOver(pools: readonly [SimPool, SimPool], ms: number): Promise<{ first: number; shares: number[] }> {
  const before = counts(pools);
  await sleep(ms);
  const after = counts(pools);
  const shares = after.map((count, i) => count - before[i]);
  return { first: (100 * shares[0]) / (shares[0] + shares[1]), shares };
}

async function registerRoutes(farm: Farm, routes: { weight: number; pool: SimPool; user: string }[]): Promise<string> {
  const response = await farm.http
    .post('/api/v1/users')
    .send({ routes: routes.map(({ weight, pool, user }) => ({ weight, pool: address(pool), user, password: 'x' })) })
    .expect(201);
  return response.body.name as string;
}

/** Sessions (miners and a down route's watcher) on the channels of one pool. */
const seatedOn = (farm: Farm, pool: SimPool) =>
  [...farm.get(UpstreamChannels).all()]
    .filter((channel) => channel.poolAddress === address(pool) && !channel.closed)
    .reduce((sum, channel) => sum + channel.sessionCount, 0);

/**
 * New work every 2 s, as real pools send it (the proxy takes at most 4096 shares per job), and the miners
 * connected and hashing at their rates until the returned stop.
 */
async function mineAll(farm: Farm, miners: SimMiner[], rateOf: (i: number) => number): Promise<() => Promise<void>> {
  const jobs = setInterval(() => {
    for (const pool of farm.pools) if (pool.peers.size > 0) pool.newJob(false);
  }, 2000);
  let stopped = false;
  for (const miner of miners) expect((await miner.start()).result).toBe(true);
  for (const miner of miners) await miner.waitForJob();
  const hashing = Promise.all(
    miners.map(async (miner, i) => {
      while (!stopped && !miner.isClosed) await miner.hashAt(rateOf(i), 2000);
    }),
  );
  return async () => {
    clearInterval(jobs);
    stopped = true;
    await hashing;
  };
}

describe('routing by weight', () => {
  const farm = new Farm();
  let pools: [SimPool, SimPool];
  let name: string;
  let miners: SimMiner[];
  let stopMining: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    await farm.start(ROUTING_FLAGS);
    pools = [await farm.addPool({ difficulty: POOL_DIFFICULTY }), await farm.addPool({ difficulty: POOL_DIFFICULTY })];
    name = await registerRoutes(farm, [
      { weight: 80, pool: pools[0], user: 'farm' },
      { weight: 20, pool: pools[1], user: 'host' },
    ]);
    miners = Array.from({ length: MINERS }, (_, i) => farm.miner({ login: `${name}.rig${i + 1}` }));
    // Every miner hashes for the whole suite, at 1x .. 10x: the split must follow hashrate, not miner count.
    stopMining = await mineAll(farm, miners, speedOf);
  }, 30_000);

  afterAll(async () => {
    await stopMining();
    await farm.stop();
  });

  it('splits the difficulty the two pools accept within 5 points of 80/20, 20 miners of 1x to 10x', async () => {
    // One period to measure the miners and settle, then two periods counted.
    await sleep(PERIOD_MS);
    const { first, shares } = await splitOver(pools, 2 * PERIOD_MS);
    console.log(
      `routing 80/20, ${MINERS} miners 1x..10x: ${first.toFixed(1)} % / ${(100 - first).toFixed(1)} % over ${(2 * PERIOD_MS) / 1000} s (shares ${shares.join(' / ')})`,
    );
    expect(Math.abs(first - 80)).toBeLessThanOrEqual(5);

    const view = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(view.body.routes).toHaveLength(2);
    expect(view.body.routes.map((route: { weight: number }) => route.weight)).toEqual([80, 20]);
    expect(view.body.routes[0].active).toEqual({ pool: address(pools[0]), user: 'farm' });
    expect(view.body.routes[1].active).toEqual({ pool: address(pools[1]), user: 'host' });
    expect(view.body.routes[0].share).toBeGreaterThan(0.7);
    expect(view.body.routes[0].share).toBeLessThan(0.9);

    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(metrics, 'proxy_route_weight', { user: name, route: '0' })).toBe(80);
    expect(sample(metrics, 'proxy_route_weight', { user: name, route: '1' })).toBe(20);
    expect(sample(metrics, 'proxy_route_hashrate', { user: name, route: '0' })).toBeGreaterThan(0);
    expect(sample(metrics, 'proxy_route_hashrate', { user: name, route: '1' })).toBeGreaterThan(0);
    expect(sample(metrics, 'proxy_route_moves_total', { user: name, reason: 'weights' })).toBeGreaterThan(0);
  }, 40_000);

  it('gives all hashrate to the other pool within seconds when the 20 % pool stops, no miner disconnected, and the split returns', async () => {
    const disconnectsBefore = sample((await farm.http.get('/metrics').expect(200)).text, 'proxy_miner_disconnects_total', {}) ?? 0;
    const stoppedAt = Date.now();
    await pools[1].stop();
    await until(() => seatedOn(farm, pools[0]) === miners.length, 'every miner on the 80 % pool', 10_000);
    const movedMs = Date.now() - stoppedAt;
    // Shares now come from every miner, to the pool that works.
    const before = pools[0].accepted.length;
    await sleep(2000);
    const extranonces = new Set(pools[0].accepted.slice(before).map((share) => share.extranonce2.slice(0, 4)));
    const down = await splitOver(pools, 2000);
    console.log(
      `routing: the 20 % pool stopped, all ${miners.length} miners on the other in ${movedMs} ms; ${down.first.toFixed(1)} % there over 2 s`,
    );
    expect(movedMs).toBeLessThan(5000);
    expect(down.first).toBe(100);
    expect(extranonces.size).toBeGreaterThan(0);
    for (const miner of miners) expect(miner.isClosed).toBe(false);

    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(metrics, 'proxy_route_moves_total', { user: name, reason: 'route_down' })).toBeGreaterThan(0);

    // Back: as soon as the channel's reconnect (its own backoff) reaches the pool, the route takes miners again.
    const acceptedBefore = pools[1].accepted.length;
    await pools[1].start();
    const startedAt = Date.now();
    await until(() => pools[1].accepted.length > acceptedBefore, 'shares at the 20 % pool again', 25_000);
    const backMs = Date.now() - startedAt;
    await sleep(PERIOD_MS / 2);
    const back = await splitOver(pools, PERIOD_MS);
    console.log(
      `routing: the 20 % pool back, shares there ${backMs} ms after it listened: ${back.first.toFixed(1)} % / ${(100 - back.first).toFixed(1)} % over ${PERIOD_MS / 1000} s (shares ${back.shares.join(' / ')})`,
    );
    expect(Math.abs(back.first - 80)).toBeLessThanOrEqual(5);
    for (const miner of miners) expect(miner.isClosed).toBe(false);
    const after = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(after, 'proxy_miner_disconnects_total', {}) ?? 0).toBe(disconnectsBefore);
    expect(sample(after, 'proxy_route_moves_total', { user: name, reason: 'route_up' })).toBeGreaterThan(0);
  }, 40_000);

  it('splits one miner alone 80/20 by time within 5 points', async () => {
    const solo: [SimPool, SimPool] = [
      await farm.addPool({ difficulty: POOL_DIFFICULTY }),
      await farm.addPool({ difficulty: POOL_DIFFICULTY }),
    ];
    const soloName = await registerRoutes(farm, [
      { weight: 80, pool: solo[0], user: 'solo-farm' },
      { weight: 20, pool: solo[1], user: 'solo-host' },
    ]);
    const miner = farm.miner({ login: `${soloName}.alone` });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    let done = false;
    const mining = (async () => {
      while (!done && !miner.isClosed) await miner.hashAt(12 * UNIT, 2000);
    })();
    await sleep(PERIOD_MS);
    const { first, shares } = await splitOver(solo, 4 * PERIOD_MS);
    done = true;
    await mining;
    console.log(
      `routing 80/20, one miner: ${first.toFixed(1)} % / ${(100 - first).toFixed(1)} % over ${(4 * PERIOD_MS) / 1000} s (shares ${shares.join(' / ')})`,
    );
    expect(Math.abs(first - 80)).toBeLessThanOrEqual(5);
    expect(miner.isClosed).toBe(false);
  }, 45_000);
});

/**
 * What an operator does to a routed name while it mines: a route's primary pool fails (the route fails over
 * through its own accounts, the split holds), the weights change (PUT with miners connected), and a route's
 * pool leaves less extranonce2 room than the others (a moved miner is told its new size and its shares
 * stay valid: the pools check every share's hash).
 */
describe('routing while miners mine', () => {
  const farm = new Farm();
  /** Route 0: primary and backup; route 1: a pool with extranonce2 size 4 (the others give 8). */
  let primary: SimPool;
  let backup: SimPool;
  let narrow: SimPool;
  let name: string;
  let miners: SimMiner[];
  let stopMining: () => Promise<void> = async () => undefined;

  const routesBody = (weights: [number, number]) => [
    {
      weight: weights[0],
      pool: address(primary),
      user: 'farm',
      password: 'x',
      backups: [{ pool: address(backup), user: 'farm-spare', password: 'x' }],
    },
    { weight: weights[1], pool: address(narrow), user: 'host', password: 'x' },
  ];
  const metric = async (metricName: string, labels: Record<string, string>) =>
    sample((await farm.http.get('/metrics').expect(200)).text, metricName, labels) ?? 0;

  beforeAll(async () => {
    await farm.start(ROUTING_FLAGS);
    primary = await farm.addPool({ difficulty: POOL_DIFFICULTY });
    backup = await farm.addPool({ difficulty: POOL_DIFFICULTY });
    narrow = await farm.addPool({ difficulty: POOL_DIFFICULTY, extranonce2Size: 4 });
    // Not reached at registration: its size is unknown, so the miners are told the usual 4 bytes, and the
    // ones moved onto it when it listens must be told less.
    await narrow.stop();
    const registered = await farm.http
      .post('/api/v1/users')
      .send({ routes: routesBody([80, 20]) })
      .expect(201);
    name = registered.body.name as string;
    // Miners that take mining.set_extranonce, as most firmware does when it subscribes to it.
    miners = Array.from({ length: 8 }, (_, i) => farm.miner({ login: `${name}.m${i + 1}`, extranonceSubscribe: true }));
    stopMining = await mineAll(farm, miners, (i) => UNIT * 2 * (i + 1));
  }, 30_000);

  afterAll(async () => {
    await stopMining();
    await farm.stop();
  });

  it('gives a moved miner the extranonce2 size of its new pool: its shares there are valid', async () => {
    for (const miner of miners) expect(miner.extranonce2Size).toBe(4);
    await narrow.start();
    await until(() => narrow.accepted.length > 0, 'shares at the narrow pool once it listens', 20_000);
    await sleep(PERIOD_MS);
    const rejectedBefore = narrow.rejected.length;
    const { first, shares } = await splitOver([primary, narrow], 2 * PERIOD_MS);
    console.log(
      `routing 80/20 onto a pool with extranonce2 size 4: ${first.toFixed(1)} % / ${(100 - first).toFixed(1)} % (shares ${shares.join(' / ')})`,
    );
    expect(Math.abs(first - 80)).toBeLessThanOrEqual(5);
    // Every share the narrow pool saw had its 4 bytes and a hash that met the target.
    expect(narrow.rejected.length - rejectedBefore).toBe(0);
    expect(narrow.accepted.length).toBeGreaterThan(0);
    for (const share of narrow.accepted) expect(share.extranonce2).toHaveLength(8);
    // The miners moved there were told a smaller size: 4 bytes at the pool, less the channel's prefix.
    const told = miners.flatMap((miner) => miner.notifications.filter((note) => note.method === 'mining.set_extranonce'));
    expect(told.length).toBeGreaterThan(0);
    expect(told.every((note) => Number(note.params[1]) < 4)).toBe(true);
    for (const miner of miners) expect(miner.isClosed).toBe(false);
  }, 40_000);

  it('takes new weights with miners connected (PUT), no miner disconnected', async () => {
    const disconnectsBefore = await metric('proxy_miner_disconnects_total', {});
    await farm.http
      .put(`/api/v1/users/${name}/routes`)
      .set(manage())
      .send({ routes: routesBody([50, 50]) })
      .expect(200);
    await sleep(PERIOD_MS);
    const { first, shares } = await splitOver([primary, narrow], 2 * PERIOD_MS);
    console.log(`routing after PUT 50/50: ${first.toFixed(1)} % / ${(100 - first).toFixed(1)} % (shares ${shares.join(' / ')})`);
    expect(Math.abs(first - 50)).toBeLessThanOrEqual(5);
    const view = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(view.body.routes.map((route: { weight: number }) => route.weight)).toEqual([50, 50]);
    for (const miner of miners) expect(miner.isClosed).toBe(false);
    expect(await metric('proxy_miner_disconnects_total', {})).toBe(disconnectsBefore);
  }, 40_000);

  it("fails a route over through its own accounts: its share moves to its backup, the other route's stays", async () => {
    const downMovesBefore = await metric('proxy_route_moves_total', { user: name, reason: 'route_down' });
    const acceptedBefore = backup.accepted.length;
    await primary.stop();
    await until(() => backup.accepted.length > acceptedBefore, 'shares at the backup of route 0', 15_000);
    await sleep(PERIOD_MS / 2);
    const { first, shares } = await splitOver([backup, narrow], 2 * PERIOD_MS);
    console.log(
      `routing 50/50, route 0 on its backup: ${first.toFixed(1)} % / ${(100 - first).toFixed(1)} % (shares ${shares.join(' / ')})`,
    );
    expect(Math.abs(first - 50)).toBeLessThanOrEqual(5);
    // A failover inside a route is not a route going down: no miner was moved off it for that.
    expect(await metric('proxy_route_moves_total', { user: name, reason: 'route_down' })).toBe(downMovesBefore);
    const view = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(view.body.routes[0].active).toEqual({ pool: address(backup), user: 'farm-spare' });
    for (const miner of miners) expect(miner.isClosed).toBe(false);
    expect(narrow.rejected.length).toBe(0);
  }, 45_000);
});

// On both databases: the migration (user_routes, users.route_weight) runs on SQLite and PostgreSQL.
describeEachStore('routes in the users API', (factory) => {
  const farm = new Farm();
  let a: SimPool;
  let b: SimPool;

  beforeAll(async () => {
    await farm.start([], factory);
    a = await farm.addPool();
    b = await farm.addPool();
  });
  afterAll(() => farm.stop());

  it('keeps the original body (one route of weight 100) and takes routes', async () => {
    const plain = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(a), user: 'plain', password: 'x' })
      .expect(201);
    const view = await farm.http.get(`/api/v1/users/${plain.body.name}`).expect(200);
    expect(view.body.pool).toBe(address(a));
    expect(view.body.routes).toEqual([
      { weight: 100, accounts: [{ pool: address(a), user: 'plain' }], active: null, share: 0, hashrate: 0 },
    ]);

    const body = {
      routes: [
        { weight: 80, pool: address(a), user: 'own', password: 'x', backups: [{ pool: address(b), user: 'own-spare', password: 'x' }] },
        { weight: 20, pool: address(b), user: 'fee', password: 'y' },
      ],
    };
    const routed = await farm.http.post('/api/v1/users').send(body).expect(201);
    const again = await farm.http.post('/api/v1/users').send(body).expect(200);
    expect(again.body.name).toBe(routed.body.name);
    const shown = await farm.http.get(`/api/v1/users/${routed.body.name}`).expect(200);
    expect(shown.body.pool).toBe(address(a));
    expect(shown.body.user).toBe('own');
    expect(shown.body.backups).toEqual([{ pool: address(b), user: 'own-spare' }]);
    expect(shown.body.routes.map((route: { weight: number; accounts: unknown }) => [route.weight, route.accounts])).toEqual([
      [
        80,
        [
          { pool: address(a), user: 'own' },
          { pool: address(b), user: 'own-spare' },
        ],
      ],
      [20, [{ pool: address(b), user: 'fee' }]],
    ]);
    expect(JSON.stringify(shown.body)).not.toContain('"password"');

    // The same credentials with other routes: a conflict, as with other backups.
    const other = { routes: [body.routes[0], { ...body.routes[1], weight: 30 }] };
    await farm.http.post('/api/v1/users').send(other).expect(409);
  });

  it('says what is wrong with a routes body', async () => {
    const error = async (body: object) => (await farm.http.post('/api/v1/users').send(body).expect(400)).body.error as string;
    const route = (weight: unknown, extra: object = {}) => ({ weight, pool: address(a), user: 'v', password: 'x', ...extra });
    expect(await error({ routes: [route(0), route(0, { user: 'w' })] })).toContain('at least one route needs a weight above 0');
    expect(await error({ routes: [route(80), route(-1, { user: 'w' })] })).toContain('weight must be a number from 0 to 100000');
    expect(await error({ routes: [route(80), route(100_001, { user: 'w' })] })).toContain('weight must be a number from 0 to 100000');
    expect(await error({ routes: [route('80')] })).toContain('weight must be a number');
    expect(await error({ routes: Array.from({ length: 9 }, (_, i) => route(10, { user: `u${i}` })) })).toContain('at most 8 routes');
    expect(await error({ routes: [] })).toContain('at least one route');
    expect(await error({ routes: [route(80), route(20, { pool: 'nohost' })] })).toContain('routes.1.pool');
    expect(await error({ routes: [route(80), route(20, { backups: [{ pool: address(a), user: 'v', password: 'x' }] })] })).toBe(
      'routes[1].backups[0]: the same account as the primary or an earlier backup',
    );
    expect(await error({ pool: address(a), user: 'v', routes: [route(80)] })).toContain('either routes or pool');
    expect(
      (
        await farm.http
          .post('/api/v1/users')
          .send({ routes: [route(80), route(20, { pool: '127.0.0.1:1' })] })
          .expect(404)
      ).body.error,
    ).toContain('routes[1]: pool 127.0.0.1:1 is not supported');
  });

  it('replaces routes with the management token (PUT /api/v1/users/:name/routes)', async () => {
    const registered = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(a), user: 'later', password: 'x' })
      .expect(201);
    const name = registered.body.name as string;
    const routes = [
      { weight: 70, pool: address(a), user: 'later', password: 'x' },
      { weight: 30, pool: address(b), user: 'partner', password: 'p' },
    ];
    await farm.http.put(`/api/v1/users/${name}/routes`).send({ routes }).expect(401);
    const replaced = await farm.http.put(`/api/v1/users/${name}/routes`).set(manage()).send({ routes }).expect(200);
    expect(replaced.body.routes.map((route: { weight: number }) => route.weight)).toEqual([70, 30]);
    const shown = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    expect(shown.body.routes[1].accounts).toEqual([{ pool: address(b), user: 'partner' }]);

    const notOwn = await farm.http
      .put(`/api/v1/users/${name}/routes`)
      .set(manage())
      .send({ routes: [{ ...routes[0], user: 'someone' }, routes[1]] })
      .expect(400);
    expect(notOwn.body.error).toContain("routes[0]: must be the name's own account");
    await farm.http.put(`/api/v1/users/ffffffffffffffff/routes`).set(manage()).send({ routes }).expect(404);

    // Back to one route.
    const single = await farm.http
      .put(`/api/v1/users/${name}/routes`)
      .set(manage())
      .send({ routes: [routes[0]] })
      .expect(200);
    expect(single.body.routes).toEqual([{ weight: 100, accounts: [{ pool: address(a), user: 'later' }] }]);
  });
});
