import { Socket } from 'node:net';
import { openFileLimit } from '../src/stratum/transport/stratum-server.js';
import { Farm } from './support/farm.js';
import { sampleWith } from './support/metrics-text.js';
import { CountingLogger } from './support/proxy.js';
import { RawClient } from './support/raw-client.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

/**
 * Share round trips of the healthy miner above this fail a test. Measured 50-65 ms at p99 on the 2-core
 * machine, where this process also runs the attacker, the pool and the healthy miner's hashing; before the
 * fair-share rules a notification flood held it up for 18.6 s. The bound catches stalls of that kind, not
 * speed: with the suite's other file running beside this one, a p99 of 157 ms was seen on a healthy proxy.
 */
const HEALTHY_P99_MS = 500;
/** How long an attack may run at most: it stops by itself if the proxy never closes the attacker. */
const ATTACK_MS = 4000;

/**
 * Writes `line` as fast as the socket takes it until the proxy closes the connection or ATTACK_MS pass.
 * Resolves with the number of lines written and whether the proxy closed it.
 */
async function flood(socket: Socket, line: string): Promise<{ sent: number; closed: boolean }> {
  const batch = line.repeat(Math.max(1, Math.floor(65536 / line.length)));
  const perBatch = batch.length / line.length;
  let sent = 0;
  const started = Date.now();
  while (!socket.destroyed && Date.now() - started < ATTACK_MS) {
    const ok = socket.write(batch);
    sent += perBatch;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
        setTimeout(done, 200);
      });
    }
  }
  return { sent, closed: socket.destroyed || (socket as Socket & { readyState: string }).readyState !== 'open' };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
};

describe('abuse from one connection (a healthy miner hashes throughout)', () => {
  const farm = new Farm();
  const logger = new CountingLogger();
  let pool: SimPool;
  let name: string;
  let healthy: SimMiner;
  let roundTrips: number[] = [];
  let failures = 0;
  let keepMining = true;
  let mining: Promise<void>;

  const attacker = async (): Promise<RawClient> => RawClient.open(farm.stratumPort);
  const subscribedAttacker = async (): Promise<RawClient> => {
    const client = await attacker();
    client.request(1, 'mining.subscribe', ['attacker/1.0']);
    await client.response(1);
    return client;
  };

  /** Runs an attack and returns the healthy miner's share round trips during it. */
  const during = async (attack: () => Promise<void>) => {
    roundTrips = [];
    failures = 0;
    const lines = logger.lines;
    const heap = process.memoryUsage().heapUsed;
    const started = Date.now();
    await attack();
    // The attacker is usually closed within a fraction of a second: watch the healthy miner a while longer.
    const rest = 1000 - (Date.now() - started);
    if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
    const observed = {
      roundTrips,
      failures,
      logLines: logger.lines - lines,
      heapGrowthMb: (process.memoryUsage().heapUsed - heap) / 2 ** 20,
    };
    console.log(
      `healthy miner during the attack: ${observed.roundTrips.length} shares, p50 ${percentile(observed.roundTrips, 50)} ms, p99 ${percentile(observed.roundTrips, 99)} ms, max ${Math.max(0, ...observed.roundTrips)} ms; ${observed.logLines} log lines; heap ${observed.heapGrowthMb.toFixed(1)} MB`,
    );
    return observed;
  };

  const expectHealthy = (observed: { roundTrips: number[]; failures: number; logLines: number; heapGrowthMb: number }) => {
    expect(observed.failures).toBe(0);
    expect(observed.roundTrips.length).toBeGreaterThanOrEqual(5);
    expect(percentile(observed.roundTrips, 99)).toBeLessThan(HEALTHY_P99_MS);
    expect(observed.logLines).toBeLessThan(20);
    expect(observed.heapGrowthMb).toBeLessThan(64);
  };

  beforeAll(async () => {
    farm.logger = logger;
    await farm.start(['--stratum.lineTimeout=1s', '--stratum.maxConnectionsPerAddress=100', '--vardiff.shareInterval=0']);
    pool = await farm.addPool({ extranonce2Size: 8 });
    name = await farm.register(pool, 'victim');
    healthy = farm.miner({ login: `${name}.healthy` });
    await healthy.start();
    await healthy.waitForJob();
    mining = (async () => {
      while (keepMining) {
        const share = healthy.findShare();
        const started = performance.now();
        const answer = await healthy.request('mining.submit', [
          healthy.options.login,
          share.jobId,
          share.extranonce2,
          share.ntime,
          share.nonce,
        ]);
        roundTrips.push(Math.round(performance.now() - started));
        if (answer.result !== true) failures++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
  });

  afterAll(async () => {
    keepMining = false;
    await mining;
    await farm.stop();
  });

  it('closes a connection flooding notifications, and the healthy miner keeps its answers', async () => {
    const observed = await during(async () => {
      const client = await attacker();
      const { sent, closed } = await flood(client.socket, '{"method":"x"}\n');
      expect(closed).toBe(true);
      expect(sent).toBeLessThan(10_000_000);
      expect(client.lines).toEqual([]);
    });
    expectHealthy(observed);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sampleWith(metrics, 'proxy_protocol_errors_total', { side: 'miner', kind: 'unknown_method' })).toBeGreaterThan(100);
    expect(sampleWith(metrics, 'proxy_miner_disconnects_total', { reason: 'too-much-junk' })).toBe(1);
  });

  it('closes a connection sending unknown methods while reading the replies', async () => {
    const observed = await during(async () => {
      const client = await attacker();
      const { closed } = await flood(client.socket, '{"id":7,"method":"x","params":[]}\n');
      expect(closed).toBe(true);
      expect(client.lines.length).toBeLessThanOrEqual(101);
    });
    expectHealthy(observed);
  });

  it('closes a connection repeating mining.subscribe, logging it once', async () => {
    const observed = await during(async () => {
      const client = await subscribedAttacker();
      const { closed } = await flood(client.socket, '{"id":2,"method":"mining.subscribe","params":[]}\n');
      expect(closed).toBe(true);
    });
    expectHealthy(observed);
  });

  it('closes an authorized miner flooding invalid shares, counted', async () => {
    const observed = await during(async () => {
      const client = await subscribedAttacker();
      client.request(2, 'mining.authorize', [`${name}.junk`, 'x']);
      expect((await client.response(2)).result).toBe(true);
      const notify = () =>
        client.lines.find((line) => (line as { method?: string }).method === 'mining.notify') as { params: string[] } | undefined;
      const deadline = Date.now() + 5000;
      while (!notify() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const jobId = notify()!.params[0];
      let counter = 0;
      const junk = () =>
        `{"id":3,"method":"mining.submit","params":["${name}.junk","${jobId}","${(counter++ % 2 ** 24).toString(16).padStart(8, '0')}","00000000","00000000"]}\n`;
      const lines = Array.from({ length: 2000 }, junk).join('');
      const { closed } = await flood(client.socket, lines);
      expect(closed).toBe(true);
    });
    expectHealthy(observed);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sampleWith(metrics, 'proxy_protocol_errors_total', { side: 'miner', kind: 'invalid_share' })).toBeGreaterThanOrEqual(50);
    expect(sampleWith(metrics, 'proxy_miner_disconnects_total', { reason: 'invalid-shares' })).toBe(1);
  });

  it('closes a connection that starts a line and trickles a byte at a time', async () => {
    const client = await attacker();
    client.send('{');
    const timer = setInterval(() => client.send('"'), 300);
    try {
      const waited = await client.closed(4000);
      expect(waited).toBeGreaterThan(900);
      expect(waited).toBeLessThan(2500);
    } finally {
      clearInterval(timer);
    }
  });

  it('accepts as many miners as the open-file limit allows, descriptors kept for pools, the API and the database', () => {
    const limit = openFileLimit();
    expect(limit).not.toBeNull(); // Linux: /proc/self/limits
    const reserved = Math.max(256, Math.ceil(limit! * 0.05));
    // One descriptor per miner, and one per 256 miners for their pool connection.
    expect(farm.proxy.stratum.maxConnections).toBe(Math.floor((limit! - reserved) / (1 + 1 / 256)));
    expect(farm.proxy.stratum.maxConnections).toBeLessThan(limit!);
  });

  it('refuses connections from one address past its limit, and /metrics and the API keep answering', async () => {
    const clients = await Promise.all(Array.from({ length: 150 }, () => attacker()));
    for (const client of clients) client.send('{');
    const metrics = await farm.http.get('/metrics').expect(200);
    expect(metrics.text).toContain('proxy_workers_connected');
    await farm.http.get('/api/v1/pools').expect(200);
    // The healthy miner holds one: 99 more may stay (until the 1 s line timeout), the rest are refused at
    // once. Every one is closed by the proxy within a few seconds; the reasons, not the timing, tell which.
    await Promise.all(clients.map((client) => client.closed(5000)));
    for (const client of clients) client.close();
    expect(failures).toBe(0);
    const after = (await farm.http.get('/metrics').expect(200)).text;
    expect(sampleWith(after, 'proxy_miner_disconnects_total', { reason: 'address-limit' })).toBeGreaterThanOrEqual(51);
    expect(sampleWith(after, 'proxy_miner_disconnects_total', { reason: 'line-timeout' })).toBeGreaterThanOrEqual(1);
  });
});

describe('a miner that sends nothing useful', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--stratum.idleTimeout=1s']));
  afterAll(() => farm.stop());

  it('is closed after the idle timeout even while it keeps sending notifications', async () => {
    const client = await RawClient.open(farm.stratumPort);
    client.request(1, 'mining.subscribe', []);
    await client.response(1);
    const subscribedAt = Date.now();
    // Under the junk limit, but not one useful message.
    const noise = setInterval(() => client.send('{"id":null,"method":"mining.extranonce.subscribe","params":[]}\n'), 200);
    try {
      await client.closed(4000);
      const waited = (client.closedAt ?? Date.now()) - subscribedAt;
      expect(waited).toBeGreaterThan(900);
      expect(waited).toBeLessThan(2000);
    } finally {
      clearInterval(noise);
    }
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(sampleWith(metrics, 'proxy_miner_disconnects_total', { reason: 'idle-timeout' })).toBe(1);
  });
});
