// The speed series on /metrics from a worker's first share, with the number the workers API shows.
import { AccountingService } from '../src/accounting/accounting.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sample } from './support/metrics-text.js';

const TAG = 'first';

describe('speeds from the first share', () => {
  const farm = new Farm();
  afterAll(() => farm.stop());

  it('has proxy_worker_speed, proxy_user_speed and proxy_rig_speed after one share, equal to the API hashrate', async () => {
    // The default 5-minute speed window: the one whose speeds used to wait a minute for their first refresh.
    await farm.start([`--metrics.tag=${TAG}`]);
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'first');
    const miner = farm.miner({ login: `${name}.rig1` });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    expect((await miner.mineOne()).result).toBe(true);

    // One clock for both readings, a second past any snapshot the API kept, so both compute at one time.
    const accounting = farm.get(AccountingService);
    const frozen = Date.now() + 1000;
    accounting.now = () => frozen;
    const workers = await farm.http.get('/api/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    const worker = (workers.body as { worker: string; hashrate: Record<string, number> }[]).find(
      (entry) => entry.worker === `127.0.0.1:${miner.socket!.localPort}`,
    )!;
    const api = worker.hashrate['1m'];
    expect(api).toBeGreaterThan(0);
    const user = await farm.http.get(`/api/v1/users/${name}`).expect(200);
    const text = (await farm.http.get('/metrics').expect(200)).text;
    const labels = { proxy: TAG, user: name, hash: 'sha256', pool: `127.0.0.1:${pool.port}` };
    const workerSpeed = sample(text, 'proxy_worker_speed', { ...labels, worker: worker.worker });
    const userSpeed = sample(text, 'proxy_user_speed', labels);
    const rigSpeed = sample(text, 'proxy_rig_speed', { ...labels, rig: 'rig1' });
    // The same numbers as the API's, to the 15 significant digits of the text.
    expect(Math.abs(workerSpeed! / api - 1)).toBeLessThan(1e-12);
    expect(Math.abs(userSpeed! / (user.body as { hashrate: number }).hashrate - 1)).toBeLessThan(1e-12);
    // The rig's (no API of its own) is the worker's, over a time that began when its group did (the same ms or so).
    expect(Math.abs(rigSpeed! / api - 1)).toBeLessThan(0.01);
  });
});
