import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ProxyProcess, runProxy } from './support/process.js';
import { SimMiner } from './support/sim-miner.js';
import { SimPool } from './support/sim-pool.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const READY = /stratum-proxy \S+: stratum (\S+), web (\S+), database (\w+)/;

/** Registers the pool (token `t`) and an account on it through a running proxy's API; the name. */
async function registerOn(web: string, pool: SimPool, user: string): Promise<string> {
  const post = (path: string, body: object) =>
    fetch(`http://${web}/api/v1${path}`, { method: 'POST', headers: { Authorization: 'Bearer t' }, body: JSON.stringify(body) });
  await post('/pools', { host: '127.0.0.1', port: pool.port, algorithm: 'sha256' });
  return ((await (await post('/users', { pool: `127.0.0.1:${pool.port}`, user })).json()) as { name: string }).name;
}

describe('the stratum-proxy command', () => {
  let dir: string;
  const dbFlag = () => `--db.path=${join(dir, 'proxy.db')}`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-cli-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every flag with its environment variable on --help', async () => {
    const result = await runProxy(['--help']);
    expect(result.code).toBe(0);
    for (const text of [
      '--stratum.addr',
      '--web.addr',
      '--db.path',
      '--db.url',
      '--metrics.tag',
      '--syslog',
      '--api.token',
      '--log.level',
      '--log.format',
      'env DATABASE_URL',
      'env API_TOKEN',
      'default: 127.0.0.1:9332',
    ]) {
      expect(result.stdout).toContain(text);
    }
  });

  it('prints the version on --version', async () => {
    const result = await runProxy(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each([
    [['--web.addr=abc'], 'stratum-proxy: --web.addr: expected host:port, got "abc"\n'],
    [['-stratum.addr', 'x:y'], 'stratum-proxy: --stratum.addr: expected host:port, got "x:y"\n'],
    [['--what=1'], 'stratum-proxy: --what: unknown flag (see --help)\n'],
    [['--log.format=xml'], 'stratum-proxy: --log.format: expected one of text, json, got "xml"\n'],
  ])('stops before listening with one line and exit code 2 for %j', async (args, line) => {
    const result = await runProxy(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(line);
    expect(result.stdout).toBe('');
  });

  it('refuses a placeholder secret before anything starts, naming it and saying what to do', async () => {
    const result = await runProxy([`--db.path=${join(dir, 'never.db')}`], { PROXY_SECRET_KEY: 'change-me' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'stratum-proxy: --secrets.key (PROXY_SECRET_KEY) is "change-me", a well-known placeholder; generate a secret, e.g. openssl rand -hex 32\n',
    );
    const url = await runProxy([], { DATABASE_URL: 'postgres://proxy:secret@db:5432/proxy' });
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/^stratum-proxy: --db\.url \(DATABASE_URL\): its password is "secret", a well-known placeholder; /);
  });

  it('names a bad environment variable', async () => {
    const result = await runProxy([], { WEB_ADDR: 'nowhere' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('stratum-proxy: WEB_ADDR (--web.addr): expected host:port, got "nowhere"\n');
  });

  describe('with a port already in use', () => {
    let blocker: Server;
    let port: number;

    beforeAll(async () => {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      port = (blocker.address() as { port: number }).port;
    });

    afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

    it.each(['web', 'stratum'])('exits non-zero with a clear message when --%s.addr is taken', async (which) => {
      const other = which === 'web' ? '--stratum.addr=127.0.0.1:0' : '--web.addr=127.0.0.1:0';
      const result = await runProxy([`--${which}.addr=127.0.0.1:${port}`, other, dbFlag(), '--syslog']);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain(`cannot listen on --${which}.addr 127.0.0.1:${port}: address already in use`);
      expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
    });
  });

  describe('the SQLite file', () => {
    const addrs = ['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', '--syslog'];
    let home: string;
    const mode = (path: string) => statSync(path).mode & 0o777;

    beforeEach(() => {
      home = mkdtempSync(join(tmpdir(), 'stratum-proxy-db-'));
    });
    afterEach(() => rmSync(home, { recursive: true, force: true }));

    it('refuses a directory (DB_PATH=/data in a container) with one line, its mode and contents untouched', async () => {
      const data = join(home, 'data');
      mkdirSync(data);
      chmodSync(data, 0o755);
      writeFileSync(join(data, 'keep-me'), 'x');
      chmodSync(join(data, 'keep-me'), 0o644);
      const result = await runProxy(addrs, { DB_PATH: data });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^ERROR \\[Main\\] cannot use the SQLite database ${data}: it is a directory; --db.path \\(DB_PATH\\) names the database file, e\\.g\\. ${data}/proxy\\.db$`,
          'm',
        ),
      );
      expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
      expect(mode(data)).toBe(0o755);
      expect(mode(join(data, 'keep-me'))).toBe(0o644);
      expect(readdirSync(data)).toEqual(['keep-me']);
      expect(readdirSync(home)).toEqual(['data']); // no data.lock beside it either
    });

    it('refuses a path whose directory does not exist, creating nothing', async () => {
      const path = join(home, 'missing', 'proxy.db');
      const result = await runProxy([...addrs, `--db.path=${path}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `cannot use the SQLite database ${path}: the directory ${join(home, 'missing')} does not exist; create it (mkdir -p ${join(home, 'missing')})`,
      );
      expect(readdirSync(home)).toEqual([]);
    });

    it('leaves nothing behind when a start fails (the web port taken), and keeps a database it did not create', async () => {
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const taken = `--web.addr=127.0.0.1:${(blocker.address() as { port: number }).port}`;
      const flags = [...addrs, `--db.path=${join(home, 'proxy.db')}`, '--api.token=cli-db-token'];
      try {
        // The database is created and migrated before the port is tried.
        const failed = await runProxy([...flags, taken]);
        expect(failed.code).toBe(1);
        expect(failed.stdout + failed.stderr).toContain('cannot listen on --web.addr');
        expect(readdirSync(home)).toEqual([]);

        const proxy = new ProxyProcess(flags);
        await proxy.waitFor(READY);
        proxy.kill('SIGTERM');
        expect((await proxy.exited).code).toBe(0);
        expect(mode(join(home, 'proxy.db'))).toBe(0o600);
        const again = await runProxy([...flags, taken]);
        expect(again.code).toBe(1);
        expect(readdirSync(home)).toEqual(['proxy.db']);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    });

    it('leaves the mode of an existing database alone, and warns that others can read it', async () => {
      const path = join(home, 'proxy.db');
      writeFileSync(path, ''); // SQLite takes an empty file as a new database
      chmodSync(path, 0o644);
      const proxy = new ProxyProcess([...addrs, `--db.path=${path}`, '--api.token=cli-db-token']);
      await proxy.waitFor(READY);
      proxy.kill('SIGTERM');
      const result = await proxy.exited;
      expect(result.code).toBe(0);
      expect(result.stdout + result.stderr).toContain(
        `WARN [Database] ${path} has mode 0644: users other than its owner can open it, and it holds the pool passwords (chmod 600 ${path})\n`,
      );
      expect(mode(path)).toBe(0o644);
    });
  });

  it('exits non-zero with a clear message when the SQLite file is not a database', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'this is not an SQLite database, just text that is long enough to have a header '.repeat(20));
    const result = await runProxy(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', `--db.path=${path}`, '--syslog']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot open or migrate the SQLite database .*garbage\.db: .*not a database/);
    expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
  });

  it('exits non-zero with a clear message when PostgreSQL is unreachable, without printing the password', async () => {
    const result = await runProxy([
      '--web.addr=127.0.0.1:0',
      '--stratum.addr=127.0.0.1:0',
      '--db.url=postgres://proxy:hunter2@127.0.0.1:1/proxy',
      '--syslog',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot open or migrate the PostgreSQL database postgres:\/\/proxy:\*\*\*@127\.0\.0\.1:1\/proxy/);
    expect(result.stdout + result.stderr).not.toContain('hunter2');
  });

  it('makes a management token at first start on SQLite, prints the page address with it once, and keeps it', async () => {
    const home = mkdtempSync(join(dir, 'token-'));
    const args = ['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', `--db.path=${join(home, 'farm.db')}`, '--syslog'];
    const first = new ProxyProcess(args);
    const [, , web] = await first.waitFor(READY);
    const [, token] = await first.waitFor(/farm page http:\/\/127\.0\.0\.1:\d+\/#token=([A-Za-z0-9_-]+)$/m);
    await first.waitFor(/database: SQLite \/.*farm\.db$/m);
    expect(readFileSync(join(home, 'farm.db.token'), 'utf8').trim()).toBe(token);
    expect(statSync(join(home, 'farm.db.token')).mode & 0o777).toBe(0o600);
    // The token opens the management API; the page's address works with it.
    expect((await fetch(`http://${web}/api/v1/farm`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`http://${web}/api/v1/farm`, { headers: { Authorization: 'Bearer wrong-token-1' } })).status).toBe(401);
    first.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const second = new ProxyProcess(args);
    const [, , again] = await second.waitFor(READY);
    await second.waitFor(/management API on: token in \/.*farm\.db\.token$/m);
    expect(second.stdout).not.toContain(token);
    expect((await fetch(`http://${again}/api/v1/farm`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    // Turned off: management is disabled, and the log says how to turn it on.
    const off = new ProxyProcess([...args.slice(0, 2), `--db.path=${join(home, 'other.db')}`, '--syslog', '--api.generateToken=false']);
    const [, , offWeb] = await off.waitFor(READY);
    await off.waitFor(/management API off: set API_TOKEN=<secret> and restart to turn it on/);
    const refused = await fetch(`http://${offWeb}/api/v1/farm`, { headers: { Authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /^the management API is disabled: set the environment variable API_TOKEN/,
    );
    off.kill('SIGTERM');
    await off.exited;
    expect(readdirSync(home).filter((file) => file.startsWith('other'))).not.toContain('other.db.token');
  });

  it('serves, then stops on SIGTERM with exit code 0 within 5 seconds; --syslog lines carry no date', async () => {
    const proxy = new ProxyProcess(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', dbFlag(), '--syslog']);
    const [, , web] = await proxy.waitFor(READY);
    const response = await fetch(`http://${web}/api/v1/algorithms`);
    expect(response.status).toBe(200);
    const started = Date.now();
    proxy.kill('SIGTERM');
    const result = await proxy.exited;
    expect(result.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.stdout).toMatch(/^LOG \[Main\] SIGTERM: draining \(a second signal stops at once\)$/m);
    expect(result.stdout).not.toMatch(/\d+\/\d+\/\d{4}/);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('starts with a small young generation: loading Nest, TypeORM and the drivers does not grow it to 32 MiB', async () => {
    const proxy = new ProxyProcess(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', dbFlag()]);
    try {
      const [, , web] = await proxy.waitFor(READY);
      const metrics = await (await fetch(`http://${web}/metrics`)).text();
      const newSpace = Number(/^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)?.[1]);
      // V8 starts it at 1 MiB a semi-space and doubles it while survivors fill it; left alone, start-up takes it to 16.
      expect(newSpace).toBeGreaterThan(0);
      expect(newSpace).toBeLessThanOrEqual(8 * 1024 * 1024);
    } finally {
      proxy.kill('SIGTERM');
      await proxy.exited;
    }
  });

  it('keeps descriptors for /metrics and the API when miners would take them all (open-file limit 400)', async () => {
    const proxy = new ProxyProcess(
      ['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', `--db.path=${join(dir, 'fd.db')}`, '--syslog'],
      {},
      400,
    );
    const [, stratum, web] = await proxy.waitFor(READY);
    const [, allowed] = await proxy.waitFor(/open-file limit 400: accepting up to (\d+) miners/);
    expect(Number(allowed)).toBe(Math.floor((400 - 256) / (1 + 1 / 256)));
    const [host, port] = [stratum.slice(0, stratum.lastIndexOf(':')), Number(stratum.slice(stratum.lastIndexOf(':') + 1))];
    // Twice as many connections as allowed, each sending half a line.
    const sockets = await Promise.all(
      Array.from(
        { length: 2 * Number(allowed) },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(port, host, () => {
              socket.write('{');
              resolve(socket);
            });
            socket.on('error', () => resolve(socket));
          }),
      ),
    );
    try {
      expect((await fetch(`http://${web}/metrics`)).status).toBe(200);
      expect((await fetch(`http://${web}/api/v1/pools`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const open = sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
      expect(open).toBeLessThanOrEqual(Number(allowed));
    } finally {
      for (const socket of sockets) socket.destroy();
      proxy.kill('SIGTERM');
      await proxy.exited;
    }
  });

  it('drains on SIGTERM: not ready, miners told to reconnect, the share in flight answered, then exit 0', async () => {
    const pool = new SimPool();
    await pool.start();
    const proxy = new ProxyProcess([
      '--web.addr=127.0.0.1:0',
      '--stratum.addr=127.0.0.1:0',
      `--db.path=${join(dir, 'drain.db')}`,
      '--api.token=t',
      '--shutdown.drainTimeout=5s',
      '--shutdown.reconnectTo=127.0.0.1:4444',
      '--syslog',
    ]);
    try {
      const [, stratum, web] = await proxy.waitFor(READY);
      expect((await fetch(`http://${web}/readyz`)).status).toBe(200);
      expect(await (await fetch(`http://${web}/healthz`)).json()).toMatchObject({ status: 'ok' });
      const name = await registerOn(web, pool, 'drain');
      const miner = new SimMiner(Number(stratum.split(':').pop()), { login: name });
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
      // The pool takes a second to answer: the share is in flight when the signal comes.
      pool.options.submitDelayMs = 1000;
      const share = miner.findShare();
      const verdict = miner.request('mining.submit', [name, share.jobId, share.extranonce2, share.ntime, share.nonce]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.kill('SIGTERM');
      await miner.waitUntil(() => miner.notifications.some((n) => n.method === 'client.reconnect'), 'client.reconnect', 3000);
      expect(miner.notifications.find((n) => n.method === 'client.reconnect')!.params).toEqual(['127.0.0.1', 4444, 0]);
      const ready = await fetch(`http://${web}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain('draining');
      expect((await verdict).result).toBe(true);
      const result = await proxy.exited;
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /drained in \d+ ms: 1 miners, 1 told to reconnect to 127\.0\.0\.1:4444, 0 shares still without a verdict/,
      );
      await miner.close();
    } finally {
      proxy.kill('SIGKILL');
      await pool.stop();
    }
  });

  it('stops at once on a second signal while draining', async () => {
    // A pool that never answers: the drain would wait its whole 30 s for the share in flight.
    const pool = new SimPool({ silentSubmits: true });
    await pool.start();
    const proxy = new ProxyProcess([
      '--web.addr=127.0.0.1:0',
      '--stratum.addr=127.0.0.1:0',
      `--db.path=${join(dir, 'twice.db')}`,
      '--api.token=t',
      '--shutdown.drainTimeout=30s',
      '--syslog',
    ]);
    try {
      const [, stratum, web] = await proxy.waitFor(READY);
      const name = await registerOn(web, pool, 'twice');
      const miner = new SimMiner(Number(stratum.split(':').pop()), { login: name, suggestDifficulty: 2 ** -20 });
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
      const share = miner.findShare();
      void miner.request('mining.submit', [name, share.jobId, share.extranonce2, share.ntime, share.nonce]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.kill('SIGTERM');
      await proxy.waitFor(/SIGTERM: draining/);
      const started = Date.now();
      proxy.kill('SIGTERM');
      const result = await proxy.exited;
      expect(Date.now() - started).toBeLessThan(2000);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/SIGTERM again: stopping at once/);
      await miner.close();
    } finally {
      proxy.kill('SIGKILL');
      await pool.stop();
    }
  });

  it('npm start passes SIGTERM to the proxy: npm -> node, no orphan left serving', async () => {
    const npm = spawn(
      'npm',
      ['start', '--', '--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', `--db.path=${join(dir, 'npm.db')}`, '--syslog'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!READY.test(output) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const [, , web] = output.match(READY)!;
      expect((await fetch(`http://${web}/healthz`)).status).toBe(200);
      npm.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(output).toMatch(/LOG \[Main\] stopped/);
      await expect(fetch(`http://${web}/healthz`)).rejects.toThrow();
    } finally {
      npm.kill('SIGKILL');
    }
  }, 40_000);

  it('stops on SIGINT too, and --log.format=json prints one JSON object per line', async () => {
    const proxy = new ProxyProcess(['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', dbFlag(), '--log.format=json']);
    await proxy.waitFor(READY);
    proxy.kill('SIGINT');
    const result = await proxy.exited;
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(lines.map((line) => JSON.parse(line).message)).toContain('SIGINT: draining (a second signal stops at once)');
  });

  it('reads its settings from the environment', async () => {
    const proxy = new ProxyProcess(['--syslog'], { WEB_ADDR: '127.0.0.1:0', STRATUM_ADDR: '127.0.0.1:0', DB_PATH: join(dir, 'env.db') });
    const [, , , database] = await proxy.waitFor(READY);
    expect(database).toBe('sqlite');
    proxy.kill();
    const result = await proxy.exited;
    expect(result, result.stdout + result.stderr).toMatchObject({ code: 0 });
  });
});
