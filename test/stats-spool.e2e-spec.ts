import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { StatsRecorder } from '../src/accounting/stats-recorder.js';
import type { RunningProxy } from '../src/bootstrap.js';
import { startTestProxy } from './support/proxy.js';
import { SimPool } from './support/sim-pool.js';
import { describeEachStore, withDatabase } from './support/stores.js';

describeEachStore('statistics at shutdown', (factory) => {
  it('spools what the database does not take at shutdown and writes it at the next start', async () => {
    const store = await factory.create();
    const dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-spool-'));
    const spool = join(dir, 'spool.json');
    const flags = [...store.flags, '--api.token=t', `--stats.spool=${spool}`, '--stats.flushInterval=1h'];
    const pool = new SimPool();
    await pool.start();
    let proxy: RunningProxy = await startTestProxy(flags);
    try {
      const http = () => request(`http://${proxy.webAddress}`);
      await http()
        .post('/api/v1/pools')
        .set('Authorization', 'Bearer t')
        .send({ host: '127.0.0.1', port: pool.port, algorithm: 'sha256' })
        .expect(201);
      const name = (
        await http()
          .post('/api/v1/users')
          .send({ pool: `127.0.0.1:${pool.port}`, user: 'spooled' })
          .expect(201)
      ).body.name as string;
      const now = Date.now();
      const recorder = proxy.app.get(StatsRecorder);
      for (let i = 0; i < 3; i++) recorder.record(name, 'rig', 'accepted', 0.5, now);
      // The statistics table goes away under the running proxy: its last flush fails.
      await proxy.app.get(DataSource).query('ALTER TABLE "worker_stats" RENAME TO "worker_stats_away"');
      await proxy.close();
      expect(existsSync(spool)).toBe(true);
      await withDatabase(store, (dataSource) => dataSource.query('ALTER TABLE "worker_stats_away" RENAME TO "worker_stats"'));

      proxy = await startTestProxy(flags);
      await proxy.app.get(StatsRecorder).flush();
      expect(existsSync(spool)).toBe(false);
      const stats = await request(`http://${proxy.webAddress}`).get(`/api/v1/users/${name}/stats?step=1m`).expect(200);
      const accepted = (stats.body.points as { shares: { accepted: number } }[]).reduce((sum, point) => sum + point.shares.accepted, 0);
      expect(accepted).toBe(3);
      const stored = await proxy.app.get(StatsRecorder).rows(name, now - 120_000, now + 120_000);
      expect(stored.reduce((sum, row) => sum + row.oneAccepted, 0)).toBe(1.5);
    } finally {
      await proxy.close();
      await pool.stop();
      await store.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
