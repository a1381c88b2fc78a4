// Wiring for Stratum e2e suites: the real proxy, simulated pools registered through the API, and names.
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import type { RunningProxy } from '../../src/bootstrap.js';
import { startTestProxy } from './proxy.js';
import { SimMiner, SimMinerOptions } from './sim-miner.js';
import { SimPool, SimPoolOptions } from './sim-pool.js';
import { StoreFactory, STORES, TestStore } from './stores.js';
import { until } from './until.js';

export const TOKEN = 'farm-token';

export class Farm {
  proxy!: RunningProxy;
  private flags: string[] = [];
  store!: TestStore;
  readonly pools: SimPool[] = [];
  readonly miners: SimMiner[] = [];

  get stratumPort(): number {
    return Number(this.proxy.stratumAddress.split(':').pop());
  }

  get http() {
    return request(`http://${this.proxy.webAddress}`);
  }

  /** The app's logger (set before start to count what is logged). */
  logger: LoggerService | undefined;

  async start(flags: string[] = [], factory: StoreFactory = STORES[0]): Promise<void> {
    this.store = await factory.create();
    this.flags = flags;
    this.proxy = await startTestProxy([...this.store.flags, `--api.token=${TOKEN}`, ...flags], this.logger);
  }

  /** Stops the proxy and starts it again on the same database. */
  async restart(): Promise<void> {
    for (const miner of this.miners) await miner.close();
    await this.proxy.close();
    this.proxy = await startTestProxy([...this.store.flags, `--api.token=${TOKEN}`, ...this.flags]);
  }

  /** A provider of the running app (to drive timers directly instead of waiting). */
  get<T>(type: abstract new (...args: never[]) => T): T {
    return this.proxy.app.get(type as never) as T;
  }

  /** A simulated pool, registered in the proxy's database with the given algorithm. */
  async addPool(options: SimPoolOptions = {}, algorithm = 'sha256'): Promise<SimPool> {
    const pool = new SimPool(options);
    await pool.start();
    this.pools.push(pool);
    await this.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port: pool.port, algorithm })
      .expect(201);
    return pool;
  }

  /** The pool's extranonce2 size as the proxy knows it (null: never connected). */
  async poolSize(pool: SimPool): Promise<number | null> {
    const pools = await this.http.get('/api/v1/pools').expect(200);
    return (pools.body as { pool: string; extranonce2Size: number | null }[]).find((p) => p.pool === `127.0.0.1:${pool.port}`)!
      .extranonce2Size;
  }

  /**
   * Registers an account on a pool and returns the proxy name miners log in with. The first registration on
   * a pool makes the proxy connect once to learn its extranonce2 size: that is awaited, and not counted in
   * the pool's connectionsAccepted, which the suites read as mining connections.
   */
  async register(pool: SimPool, user: string, password = 'x'): Promise<string> {
    const probed = (await this.poolSize(pool)) === null;
    const peers = pool.peers.size;
    const response = await this.http.post('/api/v1/users').send({ pool: `127.0.0.1:${pool.port}`, user, password });
    if (response.status !== 201 && response.status !== 200) throw new Error(`registration failed: ${response.status} ${response.text}`);
    if (probed && response.status === 201) {
      await until(async () => (await this.poolSize(pool)) !== null && pool.peers.size === peers, 'the pool size probe');
      pool.connectionsAccepted--;
    }
    return response.body.name as string;
  }

  miner(options: SimMinerOptions): SimMiner {
    const miner = new SimMiner(this.stratumPort, options);
    this.miners.push(miner);
    return miner;
  }

  async stop(): Promise<void> {
    for (const miner of this.miners) await miner.close();
    await this.proxy?.close();
    for (const pool of this.pools) await pool.stop();
    await this.store?.dispose();
  }
}
