import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AccountingService } from '../src/accounting/accounting.service.js';
import { StatsRecorder } from '../src/accounting/stats-recorder.js';
import type { RunningProxy } from '../src/bootstrap.js';
import { startTestProxy } from './support/proxy.js';
import { RawClient } from './support/raw-client.js';
import { SimMiner } from './support/sim-miner.js';
import { SimPool } from './support/sim-pool.js';
import { listenBelowEphemeralRange } from '../src/demo/listen-port.js';
import { describeEachStore, TestStore } from './support/stores.js';
import { toolSkipReason } from './support/tools.js';
import { until } from './support/until.js';

const TOKEN = 'lb-token';

/**
 * A port nobody listens on right now, for HAProxy to bind seconds later: below the ephemeral range, where
 * the other suites' thousands of connections and listen(0)s cannot take it meanwhile (a run saw HAProxy
 * exit on "Address already in use").
 */
async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenBelowEphemeralRange(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

/** One server's line of HAProxy's `show stat` (CSV), by column name: status, check_status, chkdown, stot... */
type ServerStat = Record<string, string>;

/** HAProxy's own view of the backend's servers, asked on its stats socket; null while it is not up yet. */
async function haproxyServers(socket: string, backend: string): Promise<ServerStat[] | null> {
  const csv = await new Promise<string | null>((resolve) => {
    let text = '';
    const client = connect(socket, () => client.end('show stat\n'));
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (text += chunk));
    client.on('end', () => resolve(text));
    client.on('error', () => resolve(null));
  });
  if (!csv?.startsWith('# ')) return null;
  const [header, ...rows] = csv.slice(2).trim().split('\n');
  const columns = header.split(',');
  return rows
    .map((row) => Object.fromEntries(row.split(',').map((value, i) => [columns[i], value])))
    .filter((row) => row.pxname === backend && row.svname !== 'BACKEND');
}

/**
 * The HAProxy configuration of the README's "Several instances": TCP round robin, the PROXY header (v2 to
 * one instance, v1 to the other, as both are accepted), and /readyz as the health check, so a draining
 * instance gets no new miners. Checked every 200 ms, with one failure enough to take a server out (a
 * draining one goes at once), but with `timeout check`: without it a check's timeout is `inter`, so one
 * /readyz slower than 200 ms (these instances answer from the test's own busy process) took a healthy
 * instance out for two more checks, and round robin sent the miners meanwhile to the other (5/1, not 3/3).
 * The stats socket is how the test sees what HAProxy sees.
 */
function haproxyConfig(listen: number, stats: string, instances: { stratum: string; web: string }[]): string {
  return [
    'global',
    '  maxconn 2000',
    `  stats socket ${stats} mode 600 level user`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout check 5s',
    '  timeout client 10m',
    '  timeout server 10m',
    'frontend stratum',
    `  bind 127.0.0.1:${listen}`,
    '  default_backend proxies',
    'backend proxies',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    ...instances.map(
      (instance, i) =>
        `  server proxy${i} ${instance.stratum} ${i === 0 ? 'send-proxy-v2' : 'send-proxy'} check port ${portOf(instance.web)} inter 200ms fall 1 rise 2`,
    ),
    '',
  ].join('\n');
}

const haproxyMissing = toolSkipReason('haproxy', '-v');

describeEachStore(
  'two instances behind HAProxy on one PostgreSQL',
  (factory) => {
    if (haproxyMissing) return it.skip(`(skipped: ${haproxyMissing})`, () => undefined);
    let store: TestStore;
    let dir: string;
    let haproxy: ChildProcess | null = null;
    let pool: SimPool;
    const instances: RunningProxy[] = [];
    const miners: SimMiner[] = [];

    beforeAll(async () => {
      store = await factory.create();
      dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-haproxy-'));
      pool = new SimPool();
      await pool.start();
    });

    afterAll(async () => {
      for (const miner of miners) await miner.close();
      haproxy?.kill('SIGKILL');
      for (const instance of instances) await instance.close().catch(() => undefined);
      await pool.stop();
      await store.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('ships a HAProxy configuration that HAProxy accepts (docker/haproxy/haproxy.cfg)', () => {
      const checked = spawnSync('haproxy', ['-c', '-f', fileURLToPath(new URL('../docker/haproxy/haproxy.cfg', import.meta.url))], {
        encoding: 'utf8',
      });
      expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    });

    it('spreads miners over both with their own addresses, adds up their statistics, and moves a drained one’s miners to the other', async () => {
      const listen = await freePort();
      for (const tag of ['a', 'b'])
        instances.push(
          await startTestProxy([
            ...store.flags,
            `--api.token=${TOKEN}`,
            '--stratum.proxyProtocol',
            `--metrics.tag=${tag}`,
            `--shutdown.reconnectTo=127.0.0.1:${listen}`,
            '--shutdown.drainTimeout=2s',
          ]),
        );
      const [a, b] = instances;
      // With --stratum.proxyProtocol, a connection that does not start with the header is refused.
      const direct = await RawClient.open(portOf(a.stratumAddress));
      direct.request(1, 'mining.subscribe', []);
      expect(await direct.closed(2000)).toBeLessThan(2000);
      expect(direct.lines).toEqual([]);
      const api = (instance: RunningProxy) => request(`http://${instance.webAddress}`);
      await api(a)
        .post('/api/v1/pools')
        .set('Authorization', `Bearer ${TOKEN}`)
        .send({ host: '127.0.0.1', port: pool.port, algorithm: 'sha256' })
        .expect(201);
      const name = (
        await api(a)
          .post('/api/v1/users')
          .send({ pool: `127.0.0.1:${pool.port}`, user: 'farm' })
          .expect(201)
      ).body.name as string;

      const config = join(dir, 'haproxy.cfg');
      const statsSocket = join(dir, 'haproxy.sock');
      writeFileSync(
        config,
        haproxyConfig(
          listen,
          statsSocket,
          instances.map((instance) => ({ stratum: instance.stratumAddress, web: instance.webAddress })),
        ),
      );
      haproxy = spawn('haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'inherit', 'inherit'] });
      let exited: string | null = null;
      haproxy.once('exit', (code, signal) => (exited = `HAProxy exited (${signal ?? code}) before its servers were UP: see its log above`));
      const servers = () => haproxyServers(statsSocket, 'proxies');
      // HAProxy's own view: both servers UP with a passed /readyz check before the miners come.
      await until(async () => {
        if (exited) throw new Error(exited);
        const seen = await servers();
        return seen?.length === 2 && seen.every((server) => server.status === 'UP' && server.check_status === 'L7OK');
      }, 'HAProxy to see both servers UP');

      for (let i = 0; i < 6; i++) {
        const miner = new SimMiner(listen, { login: `${name}.rig${i}` });
        miners.push(miner);
        expect((await miner.start()).result).toBe(true);
        await miner.waitForJob();
        await miner.mine(2);
      }
      for (const miner of miners) expect(miner.rejected).toEqual([]);
      expect(pool.accepted).toHaveLength(12);

      // Round robin over a set of servers that stayed the same (none went down meanwhile, as HAProxy counts):
      // three connections each, every miner under its own address (not HAProxy's).
      expect((await servers())!.map((server) => [server.svname, server.status, server.chkdown, server.stot])).toEqual([
        ['proxy0', 'UP', '0', '3'],
        ['proxy1', 'UP', '0', '3'],
      ]);
      const workersOf = (instance: RunningProxy) =>
        instance.app
          .get(AccountingService)
          .workersSnapshot()
          .map((worker) => worker.worker);
      await until(() => workersOf(a).length + workersOf(b).length === 6, 'six workers');
      expect(workersOf(a)).toHaveLength(3);
      expect(workersOf(b)).toHaveLength(3);
      expect([...workersOf(a), ...workersOf(b)].sort()).toEqual(miners.map((miner) => `127.0.0.1:${miner.socket!.localPort}`).sort());

      // One set of statistics: what both instances wrote adds up.
      await Promise.all(instances.map((instance) => instance.app.get(StatsRecorder).flush()));
      const stats = await api(a).get(`/api/v1/users/${name}/stats?step=1m`).expect(200);
      const accepted = (stats.body.points as { shares: { accepted: number } }[]).reduce((sum, point) => sum + point.shares.accepted, 0);
      expect(accepted).toBe(12);

      // b drains: its miners are told to reconnect to HAProxy, which sends them to a.
      const onB = miners.filter((miner) => workersOf(b).includes(`127.0.0.1:${miner.socket!.localPort}`));
      expect(onB).toHaveLength(3);
      const drained = await b.drain();
      expect(drained.toldToReconnect).toBe(3);
      // Its health check fails at once (503, then refused): HAProxy takes it out, a stays.
      await until(async () => {
        const seen = await servers();
        return seen?.find((server) => server.svname === 'proxy1')?.status.startsWith('DOWN') === true;
      }, 'HAProxy to see b DOWN');
      expect((await servers())!.map((server) => [server.svname, server.status.split(' ')[0], server.chkdown])).toEqual([
        ['proxy0', 'UP', '0'],
        ['proxy1', 'DOWN', '1'],
      ]);
      await b.close();
      instances.pop();
      for (const miner of onB) {
        await miner.waitUntil(() => miner.notifications.some((n) => n.method === 'client.reconnect'), 'client.reconnect');
        expect(miner.notifications.find((n) => n.method === 'client.reconnect')!.params).toEqual(['127.0.0.1', listen, 0]);
        // The rig follows: a new connection to the address it was given, which HAProxy sends to a.
        const moved = new SimMiner(listen, { login: miner.options.login });
        miners.push(moved);
        expect((await moved.start()).result).toBe(true);
        await moved.waitForJob();
        await moved.mine(2);
        expect(moved.rejected).toEqual([]);
      }
      await until(() => workersOf(a).length === 6, 'all six workers on a');
      expect(pool.rejected).toEqual([]);
      expect(pool.accepted).toHaveLength(18);
    }, 60_000);
  },
  ['postgres'],
);
