import { Farm, TOKEN } from './support/farm.js';
import type { SimPool } from './support/sim-pool.js';

describe('Stratum relay through registered pool accounts', () => {
  const farm = new Farm();
  let poolA: SimPool;
  let poolB: SimPool;

  beforeAll(async () => {
    await farm.start();
    poolA = await farm.addPool({ extranonce2Size: 8 });
    poolB = await farm.addPool({ extranonce2Size: 5 });
  });

  afterAll(() => farm.stop());

  it('mines for several names on two pools through one port, every share accepted', async () => {
    const names = [await farm.register(poolA, 'alice'), await farm.register(poolA, 'bob'), await farm.register(poolB, 'carol')];
    const miners = names.flatMap((name, i) => [farm.miner({ login: `${name}.rig${i}a` }), farm.miner({ login: `${name}.rig${i}b` })]);
    for (const miner of miners) expect((await miner.start()).result).toBe(true);
    for (const miner of miners) await miner.waitForJob();
    // Sized for the smaller pool extranonce2 (5, learned at registration) after the proxy's one-byte prefix.
    for (const miner of miners) expect(miner.extranonce2Size).toBe(4);
    for (let round = 0; round < 5; round++) for (const miner of miners) await miner.mineOne();

    for (const miner of miners) expect(miner.rejected).toEqual([]);
    expect(miners.reduce((sum, miner) => sum + miner.accepted.length, 0)).toBe(30);
    // The pools saw each share under the account, none rejected.
    expect(poolA.rejected).toEqual([]);
    expect(poolB.rejected).toEqual([]);
    expect(poolA.accepted.filter((share) => share.user === 'alice')).toHaveLength(10);
    expect(poolA.accepted.filter((share) => share.user === 'bob')).toHaveLength(10);
    expect(poolB.accepted.filter((share) => share.user === 'carol')).toHaveLength(10);
    // One pool connection per account: the miners of a name share it.
    expect(poolA.connectionsAccepted).toBe(2);
    expect(poolB.connectionsAccepted).toBe(1);
  });

  it('does not shrink what miners of other names are told for a pool that was never reached', async () => {
    const name = await farm.register(poolA, 'dave');
    const before = farm.miner({ login: name });
    await before.start();
    expect(before.extranonce2Size).toBe(4);
    // A typo'd pool: nothing listens on port 1, so its extranonce2 size is never learned.
    await farm.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port: 1, algorithm: 'sha256' })
      .expect(201);
    const typo = await farm.http.post('/api/v1/users').send({ pool: '127.0.0.1:1', user: 'erin', password: 'x' });
    expect(typo.status).toBe(201);
    const after = farm.miner({ login: `${name}.rig2` });
    expect((await after.start()).result).toBe(true);
    expect(after.extranonce2Size).toBe(4);
    await after.waitForJob();
    await after.mineOne();
    expect(after.accepted).toHaveLength(1);
  });
});
