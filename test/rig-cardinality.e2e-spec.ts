// Rig labels are bounded: unique rig names from short connections cannot grow /metrics or memory (issue 21, case 3).
import type { LoggerService } from '@nestjs/common';
import { AccountingService } from '../src/accounting/accounting.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { sample, samples } from './support/metrics-text.js';
import { testLogger } from './support/proxy.js';
import { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';
import { until } from './support/until.js';

const TAG = 'cardinality';
const CAP = 50;
const ATTACKERS = 2000;
/** Connections the attacker keeps open at a time. */
const PARALLEL = 4;
// 60,000 hashes a second at the pool's 2^-20 (4,096 hashes a share): 73 shares expected in 5 s. The test fails
// below 60 % of that (44): for a Poisson count of mean 73, P(X <= 43) is about 1e-4.
const HASHES_PER_SECOND = 60_000;
const HASHING_MS = 5000;
/** A rig's share of /metrics at most: 7 rig series of about 300 bytes (the label is cut to 64 characters). */
const RIG_BYTES = 7 * 300;

/** Keeps the warnings the app logs. */
class WarningLogger implements LoggerService {
  readonly warnings: string[] = [];
  private readonly inner = testLogger();
  log(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.inner.error(message, ...rest);
  }
}

/** A 239-character rig (what a 256-character login leaves after a 16-character name), unique in its first 64 (the label). */
const uniqueRig = (i: number) => `${String(i).padStart(6, '0')}-${'x'.repeat(232)}`;

describe('rig label cardinality', () => {
  const farm = new Farm();
  const logger = new WarningLogger();
  let pool: SimPool;
  let name: string;
  let healthy: SimMiner;
  const metrics = async () => (await farm.http.get('/metrics').expect(200)).text;
  const rigLabels = (text: string) =>
    new Set(
      samples(text, 'proxy_rig_connects_total')
        .filter((line) => line.includes(`user="${name}"`))
        .map((line) => /rig="([^"]*)"/.exec(line)![1]),
    );

  /** `count` connections that authorize with unique rigs and leave, PARALLEL at a time. */
  const attack = async (from: number, count: number) => {
    let next = from;
    const worker = async () => {
      while (next < from + count) {
        const attacker = new SimMiner(farm.stratumPort, { login: `${name}.${uniqueRig(next++)}` });
        expect((await attacker.start()).result).toBe(true);
        await attacker.close();
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  };

  beforeAll(async () => {
    farm.logger = logger;
    await farm.start([
      '--vardiff.shareInterval=0',
      '--stratum.sessionLinger=1s',
      `--metrics.maxRigsPerUser=${CAP}`,
      `--metrics.tag=${TAG}`,
    ]);
    pool = await farm.addPool({ extranonce2Size: 8 });
    name = await farm.register(pool, 'cardinality');
    healthy = farm.miner({ login: `${name}.healthy` });
    expect((await healthy.start()).result).toBe(true);
    await healthy.waitForJob();
  });

  afterAll(() => farm.stop());

  it(`keeps ${ATTACKERS} unique rigs to ${CAP} series and one overflow rig, counted, while a healthy miner mines on`, async () => {
    await healthy.mine(3);
    const before = await metrics();
    const expected = (HASHES_PER_SECOND * (HASHING_MS / 1000)) / (2 ** -20 * 2 ** 32);
    const [{ answers }] = await Promise.all([healthy.hashAt(HASHES_PER_SECOND, HASHING_MS), attack(0, ATTACKERS)]);

    expect(healthy.isClosed).toBe(false);
    expect(answers.filter((answer) => answer.result !== true)).toEqual([]);
    expect(answers.length).toBeGreaterThanOrEqual(expected * 0.6);
    // The healthy rig holds one place: the attacker got the others, and everything past them is `other`.
    const text = await metrics();
    const rigs = rigLabels(text);
    expect(rigs.size).toBeLessThanOrEqual(CAP + 1);
    expect(rigs.has('healthy')).toBe(true);
    expect(rigs.has('other')).toBe(true);
    for (const rig of rigs) expect(rig.length).toBeLessThanOrEqual(64);
    expect(sample(text, 'proxy_rig_overflow_total', { proxy: TAG, user: name })).toBe(ATTACKERS - (CAP - 1));
    expect(
      sample(text, 'proxy_rig_connects_total', { proxy: TAG, user: name, rig: 'other', hash: 'sha256', pool: `127.0.0.1:${pool.port}` }),
    ).toBe(ATTACKERS - (CAP - 1));
    expect(logger.warnings.filter((line) => line.includes('--metrics.maxRigsPerUser'))).toHaveLength(1);
    // Bounded at once: sessions that never mined have no worker series while they linger either.
    expect(text.length).toBeLessThan(2 * before.length + CAP * RIG_BYTES);

    // Nothing per connection stays once the attackers' sessions end (after the linger time).
    await until(async () => samples(await metrics(), 'proxy_worker_up').length === 1, 'the attackers to leave the worker series');
    const after = await metrics();
    expect(after.length).toBeLessThan(2 * before.length + CAP * RIG_BYTES);
    for (const metric of ['proxy_worker_up', 'proxy_worker_sended', 'proxy_worker_accepted', 'proxy_worker_speed'])
      expect(samples(after, metric)).toHaveLength(1);
    const workers = await farm.http.get('/api/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect((workers.body as { rig: string }[]).map((worker) => worker.rig)).toEqual(['healthy']);
  });

  it('gives the places of rigs expired by --metrics.rigTtl to new rigs', async () => {
    const accounting = farm.get(AccountingService);
    const overflowed = () => metrics().then((text) => sample(text, 'proxy_rig_overflow_total', { proxy: TAG, user: name }));
    const overflowBefore = await overflowed();
    // Every attacker rig is a day old; the healthy one is connected, so it stays.
    accounting.sweepRigs(Date.now() + 24 * 3_600_000 + 1);
    expect([...rigLabels(await metrics())]).toEqual(['healthy']);
    await attack(ATTACKERS, CAP);
    const rigs = rigLabels(await metrics());
    expect(rigs.size).toBe(CAP + 1);
    expect(rigs.has(uniqueRig(ATTACKERS).slice(0, 64))).toBe(true);
    expect(await overflowed()).toBe(overflowBefore! + 1);
    expect(healthy.isClosed).toBe(false);
  });
});
