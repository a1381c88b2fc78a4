// Load benchmark of the whole proxy, as a user runs it (dist/main.js, SQLite in a temporary folder), against
// a bench pool and N bench miners on 127.0.0.1. Every phase is bounded in count and time and ends by itself.
//   npm run bench -- [--quick] [--miners N] [--rate SHARES_PER_S] [--duration S] [--job-interval-ms MS] [--names K] [--direct N]
//                    [--scrape-interval-ms MS] [--aggregation N]   (N: the proxy's --upstream.aggregation; default its own, 256)
//                    [--cpu-prof] [--trace-gc] [--no-pin]     (BENCH_PROXY_NODE_FLAGS: extra node flags for the proxy)
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const quick = args.includes('--quick');
// With two or more cores, the proxy gets the last core and the load generator (pool and miners) the others, so
// the load generator's own queueing does not show up as the proxy's latency. --no-pin shares every core.
const cores = cpus().length;
const pin = !args.includes('--no-pin') && cores >= 2 && hasTaskset();
const options = {
  miners: flag('miners', quick ? 200 : 10_000),
  rate: flag('rate', quick ? 500 : 5000),
  durationSeconds: flag('duration', quick ? 10 : 60),
  jobIntervalMs: flag('job-interval-ms', quick ? 2000 : 5000),
  names: flag('names', quick ? 4 : 20),
  direct: flag('direct', quick ? 10 : 100),
  // Prometheus scrapes /metrics during the share phase, as in a monitored farm (0: never).
  scrapeIntervalMs: flag('scrape-interval-ms', quick ? 4000 : 15_000),
  // Miners per pool connection (the proxy's --upstream.aggregation); 1 is the original's one per miner.
  aggregation: flag('aggregation', 256),
};
// 2^-30: about 4 hashes a share, so the bench miners keep up while the proxy still checks every hash.
const DIFFICULTY = 2 ** -30;
const TOKEN = 'bench-token';
const CLK_TCK = 100;

const say = (text) => process.stdout.write(`${text}\n`);
const percentile = (sorted, p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const ms = (ns) => (ns === null ? null : Math.round(ns / 1e4) / 100);
/** Durations in ns, summarized in ms. */
const summarize = (durations) => {
  const sorted = [...durations].sort((a, b) => a - b);
  return { p50: ms(percentile(sorted, 50)), p99: ms(percentile(sorted, 99)), max: ms(sorted.at(-1) ?? null), count: sorted.length };
};

function limits() {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const [, soft, hard] = /Max open files\s+(\d+)\s+(\d+)/.exec(text) ?? [];
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  return { openFilesSoft: Number(soft), openFilesHard: Number(hard), ephemeralPorts: high - low + 1 };
}

function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of a process to the given cores (a no-op without pinning). */
function pinTo(pid, cpuList) {
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}
const PROXY_CORES = String(cores - 1);
const LOAD_CORES = cores > 2 ? `0-${cores - 2}` : '0';

function processStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuSeconds, rssKiB };
}

/** Asks a child to stop and waits until it has exited (killed after 10 s). */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (child.send && child.connected) child.send({ type: 'stop' });
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function once(child, type, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${type}"`)), timeoutMs);
    const listener = (message) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', listener);
      resolve(message);
    };
    child.on('message', listener);
  });
}

async function untilReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the proxy did not answer ${url} within ${timeoutMs} ms`);
}

/** One /metrics scrape: how long it took and how large it was. */
async function scrape(web) {
  const started = process.hrtime.bigint();
  const text = await (await fetch(`http://${web}/metrics`)).text();
  const lines = text.split('\n');
  // Pool connections the proxy holds (one per channel): the sum of proxy_pool_connections.
  const poolConnections = lines
    .filter((line) => line.startsWith('proxy_pool_connections{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  return { tookMs: ms(Number(process.hrtime.bigint() - started)), lines: lines.length, poolConnections };
}

/** The proxy's event-loop delay since the last call (bench/loop-monitor.mjs, preloaded into the proxy). */
async function loopDelay(pid, file) {
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the proxy did not report its event-loop delay');
}

const api = (web) => async (method, path, body) => {
  const response = await fetch(`http://${web}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
};

async function main() {
  const machine = limits();
  // The proxy holds a socket per miner and one per channel (pool connection); each helper process one per miner.
  const poolSocketsPerMiner = 1 / options.aggregation;
  const proxyNeeds = Math.ceil((1 + poolSocketsPerMiner) * options.miners) + options.names + 200;
  const notes = [];
  say(`open files: soft ${machine.openFilesSoft}, hard ${machine.openFilesHard}; ephemeral ports: ${machine.ephemeralPorts}`);
  if (proxyNeeds > machine.openFilesSoft) {
    const fitting = Math.floor((machine.openFilesSoft - 200 - options.names) / (1 + poolSocketsPerMiner));
    notes.push(
      `${options.miners} miners need ${proxyNeeds} open files in the proxy (a miner socket each and a pool socket per ${options.aggregation}); the limit here is ${machine.openFilesSoft} (raise it with "ulimit -n ${proxyNeeds}"), so this run uses ${fitting} miners`,
    );
    options.miners = fitting;
  }
  if (options.miners + options.direct > machine.ephemeralPorts)
    throw new Error(`need ${options.miners + options.direct} ephemeral ports, have ${machine.ephemeralPorts}`);
  for (const note of notes) say(`NOTE: ${note}`);
  say(`run: ${JSON.stringify(options)}`);
  say(
    pin ? `pinning: proxy on core ${PROXY_CORES}, pool and miners on core(s) ${LOAD_CORES}` : 'pinning: off (every process on every core)',
  );
  pinTo(process.pid, LOAD_CORES);

  const children = [];
  const dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-bench-'));
  const loopFile = join(dir, 'event-loop.json');
  try {
    const pool = fork(join(here, 'pool-process.mjs'), { env: { ...process.env, BENCH_DIFFICULTY: String(DIFFICULTY) } });
    children.push(pool);
    pinTo(pool.pid, LOAD_CORES);
    const { port: poolPort } = await once(pool, 'ready', 10_000);

    const [stratumPort, webPort] = [await freePort(), await freePort()];
    const proxy = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_PROXY_NODE_FLAGS ? process.env.BENCH_PROXY_NODE_FLAGS.split(' ') : []),
        '--import',
        pathToFileURL(join(here, 'loop-monitor.mjs')).href,
        ...(args.includes('--trace-gc') ? ['--trace-gc'] : []),
        ...(args.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${join(here, 'results', 'profiles')}`] : []),
        join(here, '..', 'dist', 'main.js'),
        `--stratum.addr=127.0.0.1:${stratumPort}`,
        `--web.addr=127.0.0.1:${webPort}`,
        `--db.path=${join(dir, 'proxy.db')}`,
        `--api.token=${TOKEN}`,
        `--stratum.maxConnections=${options.miners + 1000}`,
        `--upstream.aggregation=${options.aggregation}`,
        // Every registration and poll comes from 127.0.0.1: the per-address API limits would count them all.
        '--api.registrationRate=0',
        '--api.readRate=0',
        '--log.level=warn',
        '--syslog',
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_LOOP_FILE: loopFile } },
    );
    children.push(proxy);
    pinTo(proxy.pid, PROXY_CORES);
    const web = `127.0.0.1:${webPort}`;
    await untilReady(`http://${web}/api/v1/algorithms`, 30_000);
    const call = api(web);
    await call('POST', '/pools', { host: '127.0.0.1', port: poolPort, algorithm: 'sha256' });
    const logins = [];
    for (let i = 0; i < options.names; i++)
      logins.push((await call('POST', '/users', { pool: `127.0.0.1:${poolPort}`, user: `bench${i}`, password: 'x' })).name);
    const idle = processStats(proxy.pid);

    const miners = fork(join(here, 'miners-process.mjs'), {
      env: {
        ...process.env,
        BENCH_MINERS: JSON.stringify({
          proxyPort: stratumPort,
          poolPort,
          logins,
          count: options.miners,
          directCount: options.direct,
          concurrency: 200,
        }),
      },
    });
    children.push(miners);
    pinTo(miners.pid, LOAD_CORES);
    await once(miners, 'ready', 10_000);
    say(`connecting ${options.miners} miners through the proxy and ${options.direct} straight to the pool...`);
    miners.send({ type: 'connect' });
    const connected = await once(miners, 'connected', 600_000);
    // Let the connect storm's garbage settle before measuring memory.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const afterConnect = processStats(proxy.pid);
    say(
      `connected ${connected.connected} of ${options.miners + options.direct} in ${connected.seconds.toFixed(1)} s (${connected.errors} errors)`,
    );

    // Jobs during the share phase, at the interval; each job's arrival at every miner is timed.
    const jobs = [];
    const jobTimer = setInterval(async () => {
      pool.send({ type: 'job' });
      jobs.push(await once(pool, 'job', 10_000));
    }, options.jobIntervalMs);
    await loopDelay(proxy.pid, loopFile); // starts the share phase's histogram
    const beforeShares = processStats(proxy.pid);
    miners.send({
      type: 'shares',
      rate: options.rate,
      directRate: Math.min(options.rate / 10, 500),
      durationSeconds: options.durationSeconds,
    });
    const scrapes = [];
    const scrapeTimer =
      options.scrapeIntervalMs > 0 ? setInterval(async () => scrapes.push((await scrape(web)).tookMs), options.scrapeIntervalMs) : null;
    const shares = await once(miners, 'shares', (options.durationSeconds + 60) * 1000);
    clearInterval(jobTimer);
    if (scrapeTimer) clearInterval(scrapeTimer);
    const afterShares = processStats(proxy.pid);
    const eventLoopDelayMs = await loopDelay(proxy.pid, loopFile);
    const metrics = await scrape(web);

    const jobLatencies = [];
    const directJobLatencies = [];
    const poolLoops = [];
    const jobToAll = [];
    for (const job of jobs) {
      miners.send({ type: 'arrivals', jobId: job.jobId });
      const { arrivals, direct } = await once(miners, 'arrivals', 10_000);
      const since = (at) => Number(BigInt(at) - BigInt(job.sentAt));
      const latencies = arrivals.map(since);
      jobLatencies.push(...latencies);
      directJobLatencies.push(...direct.map(since));
      const poolLoop = since(job.writtenAt);
      poolLoops.push(poolLoop);
      if (latencies.length > 0)
        jobToAll.push({ reached: latencies.length, lastMs: ms(Math.max(...latencies)), poolWriteLoopMs: ms(poolLoop) });
    }
    const result = {
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        ...machine,
      },
      options,
      pinning: pin ? { proxyCores: PROXY_CORES, loadGeneratorCores: LOAD_CORES } : null,
      notes,
      miners: {
        connected: connected.connected - options.direct,
        connectSeconds: connected.seconds,
        connectErrors: connected.errors,
        poolConnections: metrics.poolConnections,
      },
      shares: {
        submitted: shares.submitted,
        answered: shares.answered,
        rejects: shares.rejects,
        errors: shares.errors,
        perSecond: Math.round(shares.answered / shares.seconds),
      },
      roundTripMs: {
        proxied: summarize(shares.proxied),
        direct: summarize(shares.direct),
      },
      jobToMinersMs: {
        ...summarize(jobLatencies),
        // Baselines from the same jobs: miners straight on the pool, and the pool's own write loop over all its connections.
        direct: summarize(directJobLatencies),
        poolWriteLoop: summarize(poolLoops),
        jobs: jobToAll,
      },
      proxy: {
        idleRssMiB: Math.round(idle.rssKiB / 1024),
        rssAfterConnectMiB: Math.round(afterConnect.rssKiB / 1024),
        rssPerMinerKiB: Math.round(((afterConnect.rssKiB - idle.rssKiB) / Math.max(1, connected.connected - options.direct)) * 10) / 10,
        eventLoopDelayMs,
        metricsScrape: { ms: metrics.tookMs, lines: metrics.lines, duringShares: scrapes.length },
        cpuSecondsPer1000Shares:
          Math.round(((afterShares.cpuSeconds - beforeShares.cpuSeconds) / Math.max(1, shares.answered)) * 1000 * 1000) / 1000,
      },
    };
    result.roundTripMs.addedByProxy = {
      p50: result.roundTripMs.proxied.p50 - result.roundTripMs.direct.p50,
      p99: result.roundTripMs.proxied.p99 - result.roundTripMs.direct.p99,
    };
    const resultsDir = join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `${quick ? 'quick' : 'full'}-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    say('');
    say(`| measure | value |`);
    say(`|---|---|`);
    say(
      `| miners connected (on pool connections) | ${result.miners.connected} in ${result.miners.connectSeconds.toFixed(1)} s (${result.miners.poolConnections}, aggregation ${options.aggregation}) |`,
    );
    say(`| shares per second sustained | ${result.shares.perSecond} (${result.shares.answered} in ${options.durationSeconds} s) |`);
    say(
      `| share round trip through the proxy, p50 / p99 / max | ${result.roundTripMs.proxied.p50} / ${result.roundTripMs.proxied.p99} / ${result.roundTripMs.proxied.max} ms |`,
    );
    say(
      `| share round trip straight to the pool, p50 / p99 / max | ${result.roundTripMs.direct.p50} / ${result.roundTripMs.direct.p99} / ${result.roundTripMs.direct.max} ms |`,
    );
    say(
      `| added by the proxy, p50 / p99 | ${result.roundTripMs.addedByProxy.p50.toFixed(2)} / ${result.roundTripMs.addedByProxy.p99.toFixed(2)} ms |`,
    );
    say(`| new job to miners, p50 / p99 | ${result.jobToMinersMs.p50} / ${result.jobToMinersMs.p99} ms (${jobs.length} jobs) |`);
    say(
      `| new job straight to miners, p50 / p99 (pool write loop p50) | ${result.jobToMinersMs.direct.p50} / ${result.jobToMinersMs.direct.p99} ms (${result.jobToMinersMs.poolWriteLoop.p50} ms) |`,
    );
    say(`| proxy CPU per 1,000 shares | ${result.proxy.cpuSecondsPer1000Shares} s |`);
    say(
      `| proxy event-loop delay during the shares, p99 / max | ${result.proxy.eventLoopDelayMs.p99} / ${result.proxy.eventLoopDelayMs.max} ms |`,
    );
    say(
      `| one /metrics scrape | ${result.proxy.metricsScrape.ms} ms (${result.proxy.metricsScrape.lines} lines; ${scrapes.length} scrapes during the shares) |`,
    );
    say(
      `| proxy memory per connected miner | ${result.proxy.rssPerMinerKiB} KiB (idle ${result.proxy.idleRssMiB} MiB, connected ${result.proxy.rssAfterConnectMiB} MiB) |`,
    );
    say(`| errors / rejects | ${result.shares.errors + result.miners.connectErrors} / ${result.shares.rejects} |`);
    say(`\nresults: ${file}`);
    if (result.shares.errors + result.miners.connectErrors + result.shares.rejects > 0) process.exitCode = 1;
  } finally {
    // Miners first, then the proxy, then the pool, each gone before the next: the proxy must not see its pool vanish.
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
