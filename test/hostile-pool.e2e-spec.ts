import type { LoggerService } from '@nestjs/common';
import { POOL_DIFFICULTY_FLOOR, POOL_NOTIFY_LIMITS } from '../src/upstream/pool-limits.js';
import { Farm } from './support/farm.js';
import { expectFloodFailover, expectFloodLoggedOncePerConnection } from './support/flood-failover.js';
import { heapAfterFullGc } from './support/heap.js';
import { sampleWith as sample } from './support/metrics-text.js';
import { testLogger } from './support/proxy.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

const address = (pool: SimPool) => `127.0.0.1:${pool.port}`;
const notifies = (miner: SimMiner) => miner.notifications.filter((n) => n.method === 'mining.notify');
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps every line the app logs at the default level (log, warn, error), to count them by kind. */
class KeepingLogger implements LoggerService {
  readonly lines: string[] = [];
  private readonly inner = testLogger();
  log(message: unknown, ...rest: unknown[]): void {
    this.lines.push(String(message));
    this.inner.log(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.lines.push(String(message));
    this.inner.warn(message, ...rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines.push(String(message));
    this.inner.error(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.inner.debug(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.inner.verbose(message, ...rest);
  }
  count(text: string): number {
    return this.lines.filter((line) => line.includes(text)).length;
  }
}

/** mining.notify lines of fresh jobs (distinct ids, so no cache makes them cheap), as the pool would send them. */
function notifyLines(pool: SimPool, count: number, clean: (index: number) => boolean = () => false): { text: string; lastId: string } {
  let text = '';
  let lastId = '';
  for (let i = 0; i < count; i++) {
    const job = pool.prepareJob();
    lastId = job.id;
    const params = [job.id, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, clean(i)];
    text += `${JSON.stringify({ id: null, method: 'mining.notify', params })}\n`;
  }
  return { text, lastId };
}

/** Writes a line to every authorized connection of the pool, as it is (numbers JSON cannot name, 1e999). */
function writeRaw(pool: SimPool, text: string): void {
  for (const peer of pool.peers) if (peer.user && !peer.socket.destroyed) peer.socket.write(text);
}

/**
 * A pool that turns hostile (issue 21, point 5): it floods mining.notify, asks for difficulty 1e-300 and
 * redirects to another host, while a healthy miner of another account hashes against a normal pool.
 */
describe('a hostile pool (a healthy miner of another account hashes throughout)', () => {
  const farm = new Farm();
  const logger = new KeepingLogger();
  let hostile: SimPool;
  let backup: SimPool;
  let healthyPool: SimPool;
  let victim: SimMiner;
  let healthy: SimMiner;
  /** A second miner of the healthy account that times its share round trips. */
  let prober: SimMiner;
  const floor = POOL_DIFFICULTY_FLOOR;

  beforeAll(async () => {
    farm.logger = logger;
    // Miners get the pool's difficulty: what the pool asks for is what they are told (after the floor).
    await farm.start(['--vardiff.shareInterval=0']);
    hostile = await farm.addPool({ extranonce2Size: 8 });
    backup = await farm.addPool({ extranonce2Size: 8 });
    healthyPool = await farm.addPool({ extranonce2Size: 8 });
    const healthyName = await farm.register(healthyPool, 'healthy');
    await farm.register(backup, 'spare');
    await farm.register(hostile, 'probe');
    const response = await farm.http
      .post('/api/v1/users')
      .send({ pool: address(hostile), user: 'main', password: 'x', backups: [{ pool: address(backup), user: 'spare', password: 'x' }] })
      .expect(201);
    victim = farm.miner({ login: `${response.body.name as string}.victim` });
    healthy = farm.miner({ login: `${healthyName}.rig` });
    prober = farm.miner({ login: `${healthyName}.prober` });
    await victim.start();
    await healthy.start();
    await prober.start();
    await prober.waitForJob();
    await victim.waitForJob();
    await healthy.waitForJob();
  });

  afterAll(() => farm.stop());

  it('coalesces a burst of jobs into one broadcast of the newest, clean if any of them was', async () => {
    await pause(POOL_NOTIFY_LIMITS.jobIntervalMs);
    const before = notifies(victim).length;
    // 60 jobs in one write (within the budget of 100 at once), the 30th of them clean.
    const burst = notifyLines(hostile, 60, (i) => i === 29);
    writeRaw(hostile, burst.text);
    await victim.waitUntil(() => victim.job?.id === burst.lastId, 'the newest job of the burst');
    await pause(3 * POOL_NOTIFY_LIMITS.jobIntervalMs);
    const received = notifies(victim).slice(before);
    console.log(`burst: the pool sent 60 jobs, the miner got ${received.length}`);
    // The first at once, then the newest once the interval is over.
    expect(received.length).toBeLessThanOrEqual(2);
    expect(received.at(-1)!.params[0]).toBe(burst.lastId);
    expect(received.at(-1)!.params[8]).toBe(true);
    expect(victim.isClosed).toBe(false);
    // Still the hostile pool: a burst within the budget is not a flood.
    expect((await victim.mineOne()).result).toBe(true);
    expect(hostile.accepted.at(-1)!.jobId).toBe(burst.lastId);
  });

  it('gives miners the floor for set_difficulty 1e-300, refuses NaN, negative and infinite ones, and logs each kind once', async () => {
    const errors = async (kind: string) =>
      sample((await farm.http.get('/metrics').expect(200)).text, 'proxy_protocol_errors_total', { side: 'pool', kind }) ?? 0;
    const badBefore = await errors('bad_message');
    for (let i = 0; i < 3; i++) hostile.setDifficulty(1e-300);
    await pause(POOL_NOTIFY_LIMITS.jobIntervalMs);
    let job = hostile.newJob(false);
    await victim.waitUntil(() => victim.job?.id === job.id, 'a job after set_difficulty');
    expect(victim.difficulty).toBe(floor);
    expect(victim.difficulty).toBe(2 ** -30);
    // Shares at the floor meet the pool's (tiny) target: they are forwarded and accepted.
    expect((await victim.mineOne()).result).toBe(true);
    writeRaw(
      hostile,
      ['["NaN"]', '[-1]', '[0]', '[1e999]', '["Infinity"]']
        .map((params) => `{"id":null,"method":"mining.set_difficulty","params":${params}}\n`)
        .join(''),
    );
    await pause(POOL_NOTIFY_LIMITS.jobIntervalMs);
    job = hostile.newJob(false);
    await victim.waitUntil(() => victim.job?.id === job.id, 'a job after the refused difficulties');
    expect(victim.difficulty).toBe(floor);
    expect(await errors('low_difficulty')).toBe(3);
    expect((await errors('bad_message')) - badBefore).toBe(5);
    expect(logger.count('below the floor')).toBe(1);
    expect(logger.count('expected a positive number')).toBeLessThanOrEqual(1);
  });

  it('logs a refused client.reconnect once per connection, and counts each', async () => {
    for (let i = 0; i < 5; i++) hostile.broadcast('client.reconnect', ['evil.example.com', 3333, 0]);
    await pause(300);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sample(metrics, 'proxy_protocol_errors_total', { side: 'pool', kind: 'reconnect_refused' })).toBe(5);
    expect(logger.count('another host')).toBe(1);
    expect(victim.isClosed).toBe(false);
  });

  it('drops a pool flooding notify and fails over; the healthy miner keeps its rate and the proxy its memory', async () => {
    const FLOOD_MS = 6000;
    // 60,000 hashes a second at 2^-20 (4,096 hashes a share): 87.9 shares expected in 6 s. The test fails
    // below 60 % of that (52.7): for a Poisson count of mean 87.9, P(X <= 52) is about 2e-5.
    const HASHES_PER_SECOND = 60_000;
    const expected = (HASHES_PER_SECOND * (FLOOD_MS / 1000)) / (2 ** -20 * 2 ** 32);
    // The pool's share difficulty is back to normal, so that the victim's later job is an ordinary one.
    hostile.setDifficulty(2 ** -20);
    // The heap after a full collection on both sides: what the flood leaves behind, whatever the collector's timing.
    const heapBefore = heapAfterFullGc();
    const rssBefore = process.memoryUsage().rss;
    const victimBefore = notifies(victim).length;
    const hashing = healthy.hashAt(HASHES_PER_SECOND, FLOOD_MS);
    const roundTrips: number[] = [];
    const probing = (async () => {
      const end = Date.now() + FLOOD_MS;
      while (Date.now() < end) {
        const share = prober.findShare();
        const at = performance.now();
        const answer = await prober.request('mining.submit', [
          prober.options.login,
          share.jobId,
          share.extranonce2,
          share.ntime,
          share.nonce,
        ]);
        roundTrips.push(performance.now() - at);
        expect(answer.result).toBe(true);
        await pause(20);
      }
    })();
    // Fresh jobs for every write: 200 lines a batch, written while the socket takes them.
    const batch = notifyLines(hostile, 200).text;
    let sent = 0;
    let maxRss = rssBefore;
    const started = Date.now();
    while (Date.now() - started < FLOOD_MS) {
      for (const peer of hostile.peers) {
        if (!peer.user || peer.socket.destroyed || peer.socket.writableLength > 1 << 20) continue;
        peer.socket.write(batch);
        sent += 200;
      }
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      await pause(5);
    }
    const { answers } = await hashing;
    await probing;
    const p99 = [...roundTrips].sort((a, b) => a - b)[Math.floor(roundTrips.length * 0.99)];
    const accepted = answers.filter((answer) => answer.result === true).length;
    const rssGrowthMb = (maxRss - rssBefore) / 2 ** 20;
    const heapKeptMb = (heapAfterFullGc() - heapBefore) / 2 ** 20;
    const received = notifies(victim).length - victimBefore;
    console.log(
      `flood: the pool sent ${sent} notify lines in ${FLOOD_MS} ms, the flooded account's miner got ${received}; ` +
        `the healthy miner had ${accepted} of ${answers.length} shares accepted (${expected.toFixed(1)} expected); RSS peak +${rssGrowthMb.toFixed(1)} MB, heap kept +${heapKeptMb.toFixed(1)} MB; ` +
        `share round trips p99 ${p99.toFixed(1)} ms of ${roundTrips.length}`,
    );
    // Each connection the pool gets is dropped after its first 100 or so lines: the active one, then the
    // failback probe's (at 2 s, then 4 s), which is why it could send so little.
    expect(sent).toBeGreaterThanOrEqual(400);
    expect(healthy.isClosed).toBe(false);
    expect(answers.every((answer) => answer.result === true)).toBe(true);
    expect(accepted).toBeGreaterThanOrEqual(0.6 * expected);
    // The peak also counts the healthy miner hashing in this process (+30 MB typically): bounded where relaying
    // the flood unbudgeted would cross it (+117 to +296 MB), with room for the collector's timing.
    expect(rssGrowthMb).toBeLessThan(100);
    expect(heapKeptMb).toBeLessThan(24);
    // The pool, the miners and the proxy share this process, so the round trips mostly wait behind the
    // miners' own hashing (p99 110-125 ms with or without the budget): this bounds stalls, such as a
    // broadcast of thousands of jobs, not the flood's cost. RSS and the jobs the miners got measure that
    // (without the budget: +117 to +296 MB, and 52,714 of 63,000 jobs relayed).
    expect(roundTrips.length).toBeGreaterThanOrEqual(10); // the prober hashes each share: fewer when the machine is busy
    // 1 s: a GC pause or the suite's other file running beside this one lands in a p99 of ~100 samples.
    expect(p99).toBeLessThan(1000);
    const metrics = await expectFloodFailover({ farm, victim, received, pool: address(hostile), backup });
    const floods = sample(metrics, 'proxy_protocol_errors_total', { side: 'pool', kind: 'flood' }) ?? 0;
    console.log(`flood: ${floods} connections dropped, ${hostile.connectionsAccepted} accepted by the hostile pool`);
    expect(floods).toBeGreaterThanOrEqual(2);
    expectFloodLoggedOncePerConnection((text) => logger.count(text));
  });
});
