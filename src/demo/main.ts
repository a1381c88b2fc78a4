#!/usr/bin/env node
// `npm run demo`: the proxy on the embedded default with a local test pool and a few miners that hash for
// real, registered through the API as a farm owner would, so a newcomer sees a working farm page at once.
// Everything lives in a temporary directory that is removed on Ctrl-C: the user's own files are untouched.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, StartupError, type RunningProxy } from '../bootstrap.js';
import { parseCommandLine } from '../config/app-config.js';
import { ConfigError } from '../config/flags.js';
import { createAppLogger } from '../logging/app-logger.js';
import { SimMiner } from './sim-miner.js';
import { SimPool } from './sim-pool.js';

const RIGS = 3;
/** Hashes a second per demo miner: a few shares a minute at the pool's difficulty, light on a laptop. */
const HASHES_PER_SECOND = 20_000;
/** 2^-16: about 65,536 hashes a share, so a miner at 20 kH/s finds one every 3 s or so. */
const POOL_DIFFICULTY = 2 ** -16;

function say(line: string): void {
  process.stdout.write(`demo: ${line}\n`);
}

async function api(web: string, token: string, path: string, body: object): Promise<{ name?: string }> {
  const response = await fetch(`http://${web}/api/v1${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST /api/v1${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { name?: string };
}

async function main(): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), 'stratum-proxy-demo-'));
  const removeHome = () => rmSync(home, { recursive: true, force: true });
  let request;
  try {
    // The user's flags come last and win (e.g. other ports); the database is the demo's own.
    // The test pool's difficulty is far below a real one's, so the vardiff minimum goes with it.
    request = parseCommandLine(
      [`--db.path=${join(home, 'proxy.db')}`, `--vardiff.minDifficulty=${POOL_DIFFICULTY / 64}`, ...process.argv.slice(2)],
      process.env,
    );
  } catch (error) {
    removeHome();
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`demo: ${error.message}\n`);
    return 2;
  }
  if (request.kind !== 'run') {
    removeHome();
    process.stdout.write('npm run demo [-- <proxy flags>]: the proxy with a local test pool and miners; see the README\n');
    return 0;
  }
  const { config } = request;
  const logger = createAppLogger(config.log);
  const pool = new SimPool({ difficulty: POOL_DIFFICULTY });
  const miners: SimMiner[] = [];
  let proxy: RunningProxy | null = null;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const miner of miners) await miner.close();
    await proxy?.close();
    await pool.stop();
    removeHome();
  };
  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => {
      say('stopping (the demo database is removed)');
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    await pool.start();
    proxy = await startProxy(config, logger);
    const token = config.apiToken || proxy.generatedToken?.token;
    if (!token) throw new StartupError('the demo registers its pool through the management API: leave --api.generateToken on');
    await api(proxy.webAddress, token, '/pools', { host: '127.0.0.1', port: pool.port, algorithm: 'sha256' });
    const { name } = await api(proxy.webAddress, token, '/users', { pool: `127.0.0.1:${pool.port}`, user: 'demo-farm', password: 'x' });
    const stratumPort = Number(proxy.stratumAddress.split(':').pop());
    for (let i = 1; i <= RIGS; i++) {
      const miner = new SimMiner(stratumPort, { login: `${name}.rig${i}`, agent: 'demo-miner/1.0' });
      miners.push(miner);
      await miner.start();
      // Mines until the demo stops; a reconnect of the proxy's pool connection is the proxy's business.
      void (async () => {
        while (!stopping && !miner.isClosed) await miner.hashAt(HASHES_PER_SECOND, 10_000);
      })();
    }
    const [webHost, webPort] = [proxy.webAddress.slice(0, proxy.webAddress.lastIndexOf(':')), proxy.webAddress.split(':').pop()];
    const page = `http://${webHost === '0.0.0.0' ? '127.0.0.1' : webHost}:${webPort}/`;
    say(`a local test pool on 127.0.0.1:${pool.port} (sha256, difficulty 2^-16), registered as the name ${name}`);
    say(`${RIGS} miners hash for real at ${HASHES_PER_SECOND / 1000} kH/s each: ${name}.rig1 to ${name}.rig${RIGS}`);
    say(`open the farm page: ${page}#token=${token}`);
    say(`add a miner of your own: -o stratum+tcp://127.0.0.1:${stratumPort} -u ${name}.mine -p x`);
    say(`the demo's database is ${join(home, 'proxy.db')}; Ctrl-C stops everything and removes it`);
  } catch (error) {
    logger.error(error instanceof StartupError ? error.message : `demo failed: ${String((error as Error)?.stack ?? error)}`, 'Demo');
    await stop();
    return 1;
  }
  await stopped;
  await stop();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100).unref();
  },
  (error: unknown) => {
    process.stderr.write(`demo: ${String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = 1;
  },
);
