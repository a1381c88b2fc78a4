import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ProxyProcess } from './support/process.js';
import { until } from './support/until.js';

const DEMO = fileURLToPath(new URL('../dist/demo/main.js', import.meta.url));

describe('npm run demo', () => {
  it('runs a farm of hashing miners on a local pool, shows it on the page, and leaves nothing behind on Ctrl-C', async () => {
    const demo = new ProxyProcess(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0'], {}, undefined, DEMO);
    const [, page, token] = await demo.waitFor(/demo: open the farm page: (http:\/\/127\.0\.0\.1:\d+\/)#token=([A-Za-z0-9_-]+)/);
    const [, database] = await demo.waitFor(/demo: the demo's database is (\S+); Ctrl-C/);
    expect(existsSync(database)).toBe(true);
    const home = await fetch(page);
    expect(home.status).toBe(200);
    type Farm = { workers: number; shares: { accepted: number; rejected: number }; pools: { up: boolean }[] };
    let farm: Farm | null = null;
    await until(
      async () => {
        farm = (await (await fetch(`${page}api/v1/farm`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Farm;
        return farm.workers === 3 && farm.shares.accepted >= 3;
        // 3 miners at 20 kH/s find a share at the pool's 2^-16 about once a second together: fewer than 3 in
        // 30 s has a probability under 1e-9.
      },
      'three demo miners with accepted shares',
      30_000,
    );
    expect(farm!.shares.rejected).toBe(0);
    expect(farm!.pools).toEqual([expect.objectContaining({ up: true })]);
    demo.kill('SIGINT');
    const exited = await demo.exited;
    expect(exited.code).toBe(0);
    expect(existsSync(database)).toBe(false);
  }, 60_000);
});
