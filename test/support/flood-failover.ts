/**
 * The end of a hostile-pool flood test, shared by the SV1 and the SV2 hostile pool: the flooded account's miner
 * stays connected, fails over to the backup and mines there, the failover is counted once, for the flood, and
 * each pool connection logs its flood once.
 */
import type { Farm } from './farm.js';
import { sampleWith } from './metrics-text.js';
import type { SimMiner } from './sim-miner.js';
import type { SimPool } from './sim-pool.js';
import { until } from './until.js';

export interface FloodedAccount {
  readonly farm: Farm;
  /** The flooded account's miner, and the notifications it got during the flood. */
  readonly victim: SimMiner;
  readonly received: number;
  /** The flooding pool's address (host:port) and the account's backup pool. */
  readonly pool: string;
  readonly backup: SimPool;
}

/** Checks the failover to the backup after the flood; returns the /metrics text read after it. */
export async function expectFloodFailover({ farm, victim, received, pool, backup }: FloodedAccount): Promise<string> {
  // The flooded account's miner stays connected and mines on the backup.
  expect(victim.isClosed).toBe(false);
  expect(received).toBeLessThan(50);
  await until(() => backup.peers.size > 0, 'the failover to the backup');
  const job = backup.newJob(true);
  await victim.waitUntil(() => victim.job?.id.endsWith(job.id) === true, 'a job of the backup');
  expect((await victim.mineOne()).result).toBe(true);
  const metrics = (await farm.http.get('/metrics').expect(200)).text;
  expect(sampleWith(metrics, 'proxy_failovers_total', { from: pool, to: `127.0.0.1:${backup.port}`, reason: 'flood' })).toBe(1);
  return metrics;
}

/** `count(text)`: how many of the app's log lines contain text. */
export function expectFloodLoggedOncePerConnection(count: (text: string) => number): void {
  // Each connection logs its flood once; the failback probe is a connection of its own.
  expect(count('more notifications than its budget')).toBeLessThanOrEqual(2);
  expect(count('down: notification flood')).toBeLessThanOrEqual(2);
}
