// Load benchmark of the whole proxy, as a user runs it (dist/main.js, SQLite in a temporary folder), against
// a bench pool and N bench miners on 127.0.0.1. Every phase is bounded in count and time and ends by itself.
//   npm run bench -- [--quick] [--miners N] [--rate SHARES_PER_S] [--duration S] [--job-interval-ms MS] [--names K] [--direct N]
//                    [--scrape-interval-ms MS] [--aggregation N]   (N: the proxy's --upstream.aggregation; default its own, 256)
//                    [--idle-seconds S]        (idle window with every miner connected and jobs flowing; default 10, 5 with --quick)
//                    [--leave-seconds S]       (wait after every miner has left before reading RSS; default 5, 3 with --quick)
//                    [--upstream sv1|sv2]      (the bench pool's protocol; default sv1)
//                    [--connect-concurrency N] [--storm]  (miners connecting at a time, default 200; --storm: all at once)
//                    [--baseline DIR] [--rounds N] [--together]
//                    [--cpu-prof] [--trace-gc] [--no-pin] [--help]  (BENCH_PROXY_NODE_FLAGS: extra node flags for the proxy)
//
// Phases of one run: the proxy starts (idle RSS), the miners connect (connect time, RSS per miner), an idle window
// with jobs at the job interval and no shares (idle CPU per connected miner per second), the share phase (CPU per
// 1,000 shares: in total, the idle cost that the share phase's duration carries anyway, and the share work that is
// the rest; latencies; job fan-out), then every miner leaves and, after --leave-seconds, the RSS is read again.
//
// --baseline DIR: DIR is another checkout of the project, already built (dist/main.js and its own node_modules), for
// example `git worktree add /tmp/baseline-552ed50 552ed50 && cd /tmp/baseline-552ed50 && npm ci && npm run build`.
// The same load runs against the baseline's proxy, then against this checkout's (alternating, baseline first, with
// --rounds N; the table shows each side's median), each with a fresh pool, miners and SQLite folder. The table shows
// both sides and new/baseline; the JSON result holds every run, the medians and the ratios. Only proxy flags that
// the checkout's `dist/main.js --help` lists are passed, so an older commit runs too.
// --together: with --baseline, both proxies run at the same time under two copies of the load (two pools, two
// sets of miners; the proxies share their core, the load generators theirs): the machine's speed drifts by
// 10 % and more between runs minutes apart, and side by side the drift falls on both alike.
// --upstream sv2: the proxy's pool is bench/sv2-pool-process.mjs, an SV2 pool on the proxy's own SV2 code (dist/protocol/sv2:
// Noise, framing, messages; every share accepted), registered through the pools API with protocol sv2 and its authority
// key, and the accounts as stratum2+tcp:// URLs. The miners, the shares and the table are the same. The miners
// "straight to the pool" (--direct) speak SV1, so they stay on the SV1 bench pool, which gets the same jobs at the same
// moment: their round trips and job times are the baseline of an SV1 pool, and "added by the proxy" is what an SV1
// miner pays to mine on the SV2 pool through the proxy rather than on an SV1 pool directly.
// --cpu-prof: a V8 CPU profile of each proxy run in bench/results/profiles/ (paths printed at the end);
// `node bench/top-functions.mjs FILE [N]` prints its top functions by self time.
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const usage = text.slice(0, text.indexOf('\nimport ')).replace(/^\/\/ ?/gm, '');
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const flag = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} takes a number, got ${JSON.stringify(args[index + 1])}`);
  return value;
};
const stringFlag = (name) => {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = args[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} takes a value`);
  return value;
};
const quick = args.includes('--quick');
const cpuProf = args.includes('--cpu-prof');
const together = args.includes('--together');
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
  // Idle window: every miner connected, jobs at the job interval, no shares, no scrapes.
  idleSeconds: flag('idle-seconds', quick ? 5 : 10),
  // After every miner has left: how long to wait (nothing forced) before reading the proxy's RSS again.
  leaveSeconds: flag('leave-seconds', quick ? 3 : 5),
  // Miners connecting at a time; --storm: all of them at once, as after a proxy restart.
  // (A count, not Infinity: the options travel to the miners' process as JSON, where Infinity becomes null.)
  connectConcurrency: args.includes('--storm') ? Number.MAX_SAFE_INTEGER : flag('connect-concurrency', 200),
};
const baselineDir = stringFlag('baseline') === undefined ? undefined : resolvePath(stringFlag('baseline'));
const rounds = Math.max(1, Math.floor(flag('rounds', 1)));
const upstream = stringFlag('upstream') ?? 'sv1';
if (upstream !== 'sv1' && upstream !== 'sv2') throw new Error(`--upstream takes sv1 or sv2, got ${JSON.stringify(upstream)}`);
options.upstream = upstream;
const thisCheckout = resolvePath(here, '..');
// 2^-30: about 4 hashes a share, so the bench miners keep up while the proxy still checks every hash.
const DIFFICULTY = 2 ** -30;
const TOKEN = 'bench-token';
const CLK_TCK = 100;

const say = (text) => process.stdout.write(`${text}\n`);
const nowUs = () => Number(process.hrtime.bigint() / 1000n); // CLOCK_MONOTONIC, the clock of V8's profile timestamps
const sleep = (msDelay) => new Promise((resolve) => setTimeout(resolve, msDelay));
const percentile = (sorted, p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
const ms = (ns) => (ns === null ? null : Math.round(ns / 1e4) / 100);
const round = (value, digits) => (value === null || value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));
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

/** The CPU time of every live thread in ns (/proc/PID/task/TID/schedstat), or null where the kernel has no schedstat. */
function schedstatSeconds(pid) {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
    return total / 1e9;
  } catch {
    return null;
  }
}

/**
 * CPU and RSS of a process. cpuSeconds: utime + stime (10 ms ticks, threads that ended included);
 * preciseCpuSeconds: the live threads' schedstat (ns), used for the short windows where ticks are too coarse.
 */
function processStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  return { cpuSeconds, preciseCpuSeconds: schedstatSeconds(pid), rssKiB, at: performance.now() };
}

/** CPU seconds between two processStats, from schedstat when both have it. */
function cpuBetween(before, after) {
  if (before.preciseCpuSeconds !== null && after.preciseCpuSeconds !== null) return after.preciseCpuSeconds - before.preciseCpuSeconds;
  return after.cpuSeconds - before.cpuSeconds;
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

async function untilReady(url, timeoutMs, proxy) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proxy.exitCode !== null || proxy.signalCode !== null)
      throw new Error(`the proxy exited (${proxy.exitCode ?? proxy.signalCode}) before it answered ${url}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
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

/**
 * The proxy's event-loop delay since the last call (bench/loop-monitor.mjs, preloaded into the proxy), which
 * (re)starts the monitor, or pauses it with { pause: true }: it starts paused, since its own timers would be
 * most of an idle proxy's CPU.
 */
async function loopDelay(pid, file, { pause = false } = {}) {
  rmSync(file, { force: true });
  if (pause) writeFileSync(`${file}.pause`, '');
  else rmSync(`${file}.pause`, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        // still being written
      }
    }
    await sleep(20);
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

/** The flags a checkout's proxy accepts, from its --help (null when the help cannot be read: every flag is passed). */
function proxyFlags(checkout) {
  try {
    const output = execFileSync(process.execPath, [join(checkout, 'dist', 'main.js'), '--help'], {
      cwd: checkout,
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const names = new Set([...output.matchAll(/--([A-Za-z][\w.-]*)/g)].map((match) => match[1].replace(/\.+$/, '')));
    return names.size > 0 ? names : null;
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    const names = new Set([...output.matchAll(/--([A-Za-z][\w.-]*)/g)].map((match) => match[1].replace(/\.+$/, '')));
    return names.size > 0 ? names : null;
  }
}

function describeCheckout(checkout) {
  const git = (...gitArgs) => {
    try {
      return execFileSync('git', ['-C', checkout, ...gitArgs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {
    dir: checkout,
    commit: git('rev-parse', '--short', 'HEAD'),
    subject: git('log', '-1', '--format=%s'),
    modified: status === null ? null : status !== '',
  };
}

/**
 * One run of the whole load against the proxy of `checkout` (its dist/main.js, its node_modules), with a fresh
 * bench pool, fresh bench miners and a fresh SQLite folder. Returns the result (nothing printed but progress).
 */
async function runOnce(label, checkout) {
  const main = join(checkout, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} does not exist: build that checkout first (npm ci && npm run build)`);
  const accepted = proxyFlags(checkout);
  const notes = [];
  if (accepted === null) notes.push(`could not read the flags of ${main} --help: every flag is passed`);
  const supports = (name) => accepted === null || accepted.has(name);
  for (const name of ['stratum.addr', 'web.addr', 'db.path', 'api.token'])
    if (!supports(name)) throw new Error(`${main} does not take --${name}, which the bench needs`);
  /** A flag the bench can do without: passed only when this proxy has it, else a note says it was left out. */
  const optional = (name, value) => {
    if (supports(name)) return [`--${name}=${value}`];
    notes.push(`${label}: the proxy has no --${name}, left out (its own default applies)`);
    return [];
  };
  const prefix = `[${label}] `;
  const progress = (text) => say(`${prefix}${text}`);

  const children = [];
  const dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-bench-'));
  const loopFile = join(dir, 'event-loop.json');
  const profilesDir = join(here, 'results', 'profiles');
  const profileName = `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.cpuprofile`;
  let proxy;
  let result;
  try {
    const pool = fork(join(here, 'pool-process.mjs'), { env: { ...process.env, BENCH_DIFFICULTY: String(DIFFICULTY) } });
    children.push(pool);
    pinTo(pool.pid, LOAD_CORES);
    const { port: poolPort } = await once(pool, 'ready', 10_000);
    // With --upstream sv2 the proxy mines on an SV2 pool; the SV1 pool above still serves the direct miners.
    let sv2Pool = null;
    let sv2 = null;
    if (upstream === 'sv2') {
      sv2Pool = fork(join(here, 'sv2-pool-process.mjs'), { env: { ...process.env, BENCH_DIFFICULTY: String(DIFFICULTY) } });
      children.push(sv2Pool);
      pinTo(sv2Pool.pid, LOAD_CORES);
      sv2 = await once(sv2Pool, 'ready', 10_000);
    }
    const upstreamPool = sv2Pool ?? pool;

    const [stratumPort, webPort] = [await freePort(), await freePort()];
    if (cpuProf) mkdirSync(profilesDir, { recursive: true });
    proxy = spawn(
      process.execPath,
      [
        ...(process.env.BENCH_PROXY_NODE_FLAGS ? process.env.BENCH_PROXY_NODE_FLAGS.split(' ') : []),
        '--import',
        pathToFileURL(join(here, 'loop-monitor.mjs')).href,
        ...(args.includes('--trace-gc') ? ['--trace-gc'] : []),
        ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profilesDir}`, `--cpu-prof-name=${profileName}`] : []),
        main,
        `--stratum.addr=127.0.0.1:${stratumPort}`,
        `--web.addr=127.0.0.1:${webPort}`,
        `--db.path=${join(dir, 'proxy.db')}`,
        `--api.token=${TOKEN}`,
        ...optional('stratum.maxConnections', options.miners + 1000),
        ...optional('upstream.aggregation', options.aggregation),
        // The bench pools' difficulty is far below the default minimum: miners get it (4 hashes a share), not the minimum.
        ...optional('vardiff.minDifficulty', DIFFICULTY),
        // Every registration and poll comes from 127.0.0.1: the per-address API limits would count them all.
        ...optional('api.registrationRate', 0),
        ...optional('api.readRate', 0),
        ...optional('log.level', 'warn'),
        ...(supports('syslog') ? ['--syslog'] : []),
      ],
      { cwd: checkout, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, BENCH_LOOP_FILE: loopFile } },
    );
    children.push(proxy);
    pinTo(proxy.pid, PROXY_CORES);
    const web = `127.0.0.1:${webPort}`;
    await untilReady(`http://${web}/api/v1/algorithms`, 30_000, proxy);
    const call = api(web);
    if (sv2)
      await call('POST', '/pools', {
        host: '127.0.0.1',
        port: sv2.port,
        algorithm: 'sha256',
        protocol: 'sv2',
        authorityPubkey: sv2.authorityPubkey,
      });
    else await call('POST', '/pools', { host: '127.0.0.1', port: poolPort, algorithm: 'sha256' });
    const poolUrl = sv2 ? `stratum2+tcp://127.0.0.1:${sv2.port}/${sv2.authorityPubkey}` : `127.0.0.1:${poolPort}`;
    const logins = [];
    for (let i = 0; i < options.names; i++)
      logins.push((await call('POST', '/users', { pool: poolUrl, user: `bench${i}`, password: 'x' })).name);
    const idle = processStats(proxy.pid);
    // The empty proxy's own cost (registered, no miner yet) over a window as long as the idle one: what the
    // connected miners add to it is their cost per miner, apart from the proxy's constant.
    // After 3 s for the start-up's garbage and compilation to settle (as after the connect storm).
    progress(`empty for ${options.idleSeconds} s (no miner connected), after 3 s to settle...`);
    await sleep(3000);
    const phases = { empty: { fromUs: nowUs() } };
    const emptyStart = processStats(proxy.pid);
    await sleep(options.idleSeconds * 1000);
    const emptyEnd = processStats(proxy.pid);
    phases.empty.toUs = nowUs();
    const emptyCoreShare = cpuBetween(emptyStart, emptyEnd) / ((emptyEnd.at - emptyStart.at) / 1000);

    const miners = fork(join(here, 'miners-process.mjs'), {
      env: {
        ...process.env,
        BENCH_MINERS: JSON.stringify({
          proxyPort: stratumPort,
          poolPort,
          logins,
          count: options.miners,
          directCount: options.direct,
          concurrency: options.connectConcurrency,
        }),
      },
    });
    children.push(miners);
    pinTo(miners.pid, LOAD_CORES);
    await once(miners, 'ready', 10_000);
    progress(`connecting ${options.miners} miners through the proxy and ${options.direct} straight to the pool...`);
    miners.send({ type: 'connect' });
    const connected = await once(miners, 'connected', 600_000);
    // Let the connect storm's garbage settle before measuring memory.
    await sleep(3000);
    const afterConnect = processStats(proxy.pid);
    const proxiedMiners = connected.connected - options.direct;
    progress(
      `connected ${connected.connected} of ${options.miners + options.direct} in ${connected.seconds.toFixed(1)} s (${connected.errors} errors)`,
    );

    // Jobs from here on, at the interval (the idle window and the share phase); each job's arrival at every miner is timed.
    const jobs = [];
    let phase = 'idle';
    const jobTimer = setInterval(async () => {
      const jobPhase = phase;
      upstreamPool.send({ type: 'job' });
      // The direct miners' SV1 pool gets the same job (the same id) at the same moment, timed from its own send.
      if (sv2Pool) pool.send({ type: 'job' });
      const [job, direct] = await Promise.all([once(upstreamPool, 'job', 10_000), sv2Pool ? once(pool, 'job', 10_000) : null]);
      jobs.push({ ...job, directSentAt: direct?.sentAt ?? job.sentAt, phase: jobPhase });
    }, options.jobIntervalMs);

    // Idle window: every miner connected, jobs flowing, no shares, no scrapes.
    progress(`idle for ${options.idleSeconds} s with every miner connected and a job every ${options.jobIntervalMs} ms...`);
    phases.idle = { fromUs: nowUs() };
    const idleStart = processStats(proxy.pid);
    await sleep(options.idleSeconds * 1000);
    const idleEnd = processStats(proxy.pid);
    phases.idle.toUs = nowUs();
    await loopDelay(proxy.pid, loopFile); // starts the event-loop monitor for the share phase (paused until now)
    const idleWallSeconds = (idleEnd.at - idleStart.at) / 1000;
    const idleCpuSeconds = cpuBetween(idleStart, idleEnd);
    /** Share of one core the proxy used while idle (CPU s per s). */
    const idleCoreShare = idleCpuSeconds / idleWallSeconds;

    phase = 'shares';
    progress(`shares: ${options.rate}/s for ${options.durationSeconds} s...`);
    phases.shares = { fromUs: nowUs() };
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
    phase = 'after';
    clearInterval(jobTimer);
    if (scrapeTimer) clearInterval(scrapeTimer);
    const afterShares = processStats(proxy.pid);
    phases.shares.toUs = nowUs();
    const eventLoopDelayMs = await loopDelay(proxy.pid, loopFile, { pause: true });
    const metrics = await scrape(web);
    await sleep(100); // a job sent just before the timer was cleared reports its send time

    const arrivalsOf = async (phaseJobs) => {
      const jobLatencies = [];
      const directJobLatencies = [];
      const poolLoops = [];
      const jobToAll = [];
      for (const job of phaseJobs) {
        miners.send({ type: 'arrivals', jobId: job.jobId });
        const { arrivals, direct } = await once(miners, 'arrivals', 10_000);
        const since = (at, sentAt = job.sentAt) => Number(BigInt(at) - BigInt(sentAt));
        const latencies = arrivals.map((at) => since(at));
        jobLatencies.push(...latencies);
        directJobLatencies.push(...direct.map((at) => since(at, job.directSentAt)));
        const poolLoop = since(job.writtenAt);
        poolLoops.push(poolLoop);
        if (latencies.length > 0)
          jobToAll.push({ reached: latencies.length, lastMs: ms(Math.max(...latencies)), poolWriteLoopMs: ms(poolLoop) });
      }
      return { jobLatencies, directJobLatencies, poolLoops, jobToAll };
    };
    const shareJobs = await arrivalsOf(jobs.filter((job) => job.phase === 'shares'));
    const idleJobs = await arrivalsOf(jobs.filter((job) => job.phase === 'idle'));

    // Every miner leaves; after a wait (nothing forced: no GC call) the RSS shows what the proxy kept of them.
    progress(`every miner leaves; RSS again in ${options.leaveSeconds} s...`);
    miners.send({ type: 'disconnect' });
    await once(miners, 'disconnected', 60_000);
    await sleep(options.leaveSeconds * 1000);
    const afterLeave = processStats(proxy.pid);

    const shareWallSeconds = (afterShares.at - beforeShares.at) / 1000;
    // The same clock as the idle window's (schedstat where there is one), so that the split adds up.
    const shareCpuSeconds = cpuBetween(beforeShares, afterShares);
    const answered = Math.max(1, shares.answered);
    const per1000 = (cpuSeconds) => round((cpuSeconds / answered) * 1000, 4);
    const idleCostSeconds = idleCoreShare * shareWallSeconds;
    result = {
      label,
      upstream,
      checkout: describeCheckout(checkout),
      at: new Date().toISOString(),
      notes,
      miners: {
        connected: proxiedMiners,
        connectSeconds: connected.seconds,
        connectErrors: connected.errors,
        // From the first connect until the last connected miner (direct ones included) had its first job.
        allWorkSeconds: connected.allWorkSeconds ?? null,
        withoutWork: connected.withoutWork ?? null,
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
        ...summarize(shareJobs.jobLatencies),
        // Baselines from the same jobs: miners straight on the pool, and the pool's own write loop over all its connections.
        direct: summarize(shareJobs.directJobLatencies),
        poolWriteLoop: summarize(shareJobs.poolLoops),
        jobs: shareJobs.jobToAll,
        // The jobs of the idle window (no shares in flight).
        idle: { ...summarize(idleJobs.jobLatencies), jobs: idleJobs.jobToAll },
      },
      proxy: {
        idleRssMiB: Math.round(idle.rssKiB / 1024),
        // At the end of the empty window, 13 s after the last registration: V8 has given back the start-up's
        // young generation by then (its memory reducer runs some seconds after the process goes quiet).
        restRssMiB: Math.round(emptyEnd.rssKiB / 1024),
        rssAfterConnectMiB: Math.round(afterConnect.rssKiB / 1024),
        rssPerMinerKiB: Math.round(((afterConnect.rssKiB - idle.rssKiB) / Math.max(1, proxiedMiners)) * 10) / 10,
        // After every miner left and --leave-seconds passed: what the proxy kept (a leak shows here).
        rssAfterLeaveMiB: Math.round(afterLeave.rssKiB / 1024),
        rssKeptPerMinerKiB: Math.round(((afterLeave.rssKiB - idle.rssKiB) / Math.max(1, proxiedMiners)) * 10) / 10,
        idle: {
          seconds: round(idleWallSeconds, 2),
          cpuSeconds: round(idleCpuSeconds, 4),
          coreBusyPercent: round(idleCoreShare * 100, 2),
          // The whole idle cost (sweeps, timers, jobs to every miner) divided among the connected miners.
          cpuMsPerMinerPerSecond: round((idleCoreShare * 1000) / Math.max(1, proxiedMiners), 6),
          // The proxy before any miner connected, over a window as long (its constant: timers, flushes, the runtime).
          emptyCoreBusyPercent: round(emptyCoreShare * 100, 2),
          // What the connected miners add to the empty proxy's cost, per miner (can be noise-negative on a busy machine).
          cpuMsPerMinerPerSecondAboveEmpty: round(((idleCoreShare - emptyCoreShare) * 1000) / Math.max(1, proxiedMiners), 6),
          // The empty proxy plus 10,000 times that, in % of a core (the issue's target for 10,000 idle miners: under 2 %).
          coreBusyPercentAt10000Miners: round(
            (emptyCoreShare + (((idleCoreShare - emptyCoreShare) * 1000) / Math.max(1, proxiedMiners)) * 10) * 100,
            2,
          ),
          cpuClock: idleStart.preciseCpuSeconds !== null ? 'schedstat (ns)' : 'stat (10 ms ticks)',
        },
        eventLoopDelayMs,
        metricsScrape: { ms: metrics.tookMs, lines: metrics.lines, duringShares: scrapes.length },
        shareSeconds: round(shareWallSeconds, 2),
        shareCoreBusyPercent: round((shareCpuSeconds / shareWallSeconds) * 100, 1),
        // The share phase's CPU per 1,000 answered shares ("with shares"), split into the idle cost the phase's
        // duration carries anyway (the idle window's rate times the phase's duration) and the share work (the rest).
        cpuSecondsPer1000Shares: per1000(shareCpuSeconds),
        cpuSecondsPer1000SharesIdleCost: per1000(idleCostSeconds),
        cpuSecondsPer1000SharesShareWork: per1000(shareCpuSeconds - idleCostSeconds),
        // The share phase's CPU from utime + stime (10 ms ticks, as results before the split were measured).
        cpuSecondsPer1000SharesTicks: per1000(afterShares.cpuSeconds - beforeShares.cpuSeconds),
        cpuClock: beforeShares.preciseCpuSeconds !== null ? 'schedstat (ns)' : 'stat (10 ms ticks)',
        cpuProfile: null,
        // The idle window and the share phase on the monotonic clock in µs, the clock of a CPU profile's timestamps.
        phases,
      },
    };
    result.roundTripMs.addedByProxy = {
      p50: round(result.roundTripMs.proxied.p50 - result.roundTripMs.direct.p50, 2),
      p99: round(result.roundTripMs.proxied.p99 - result.roundTripMs.direct.p99, 2),
    };
  } finally {
    // Miners first, then the proxy, then the pool, each gone before the next: the proxy must not see its pool vanish.
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
  if (cpuProf && result) {
    const file = join(profilesDir, profileName);
    if (existsSync(file)) {
      result.proxy.cpuProfile = file;
      // Beside the profile: the phases' time windows, for `top-functions.mjs FILE N --phase shares`.
      writeFileSync(`${file}.phases.json`, `${JSON.stringify(result.proxy.phases, null, 2)}\n`);
    } else result.notes.push(`${label}: no CPU profile at ${file} (the proxy exited ${proxy.exitCode ?? proxy.signalCode})`);
  }
  return result;
}

/** The figures of one run that the tables show and the medians and ratios are taken of. */
function figures(r) {
  return {
    connected: r.miners.connected,
    connectSeconds: r.miners.connectSeconds,
    allWorkSeconds: r.miners.allWorkSeconds,
    withoutWork: r.miners.withoutWork,
    poolConnections: r.miners.poolConnections,
    sharesPerSecond: r.shares.perSecond,
    answered: r.shares.answered,
    proxiedP50: r.roundTripMs.proxied.p50,
    proxiedP99: r.roundTripMs.proxied.p99,
    proxiedMax: r.roundTripMs.proxied.max,
    directP50: r.roundTripMs.direct.p50,
    directP99: r.roundTripMs.direct.p99,
    directMax: r.roundTripMs.direct.max,
    addedP50: r.roundTripMs.addedByProxy.p50,
    addedP99: r.roundTripMs.addedByProxy.p99,
    jobP50: r.jobToMinersMs.p50,
    jobP99: r.jobToMinersMs.p99,
    jobs: r.jobToMinersMs.jobs.length,
    directJobP50: r.jobToMinersMs.direct.p50,
    directJobP99: r.jobToMinersMs.direct.p99,
    poolWriteLoopP50: r.jobToMinersMs.poolWriteLoop.p50,
    idleJobP50: r.jobToMinersMs.idle.p50,
    idleJobP99: r.jobToMinersMs.idle.p99,
    idleJobs: r.jobToMinersMs.idle.jobs.length,
    cpuPer1000: r.proxy.cpuSecondsPer1000Shares,
    cpuPer1000IdleCost: r.proxy.cpuSecondsPer1000SharesIdleCost,
    cpuPer1000ShareWork: r.proxy.cpuSecondsPer1000SharesShareWork,
    shareCoreBusyPercent: r.proxy.shareCoreBusyPercent,
    idleCpuMsPerMinerPerSecond: r.proxy.idle.cpuMsPerMinerPerSecond,
    idleCoreBusyPercent: r.proxy.idle.coreBusyPercent,
    idleAt10000Percent: r.proxy.idle.coreBusyPercentAt10000Miners,
    emptyCoreBusyPercent: r.proxy.idle.emptyCoreBusyPercent,
    idleCpuMsPerMinerPerSecondAboveEmpty: r.proxy.idle.cpuMsPerMinerPerSecondAboveEmpty,
    idleSeconds: r.proxy.idle.seconds,
    loopP99: r.proxy.eventLoopDelayMs.p99,
    loopMax: r.proxy.eventLoopDelayMs.max,
    scrapeMs: r.proxy.metricsScrape.ms,
    scrapeLines: r.proxy.metricsScrape.lines,
    scrapes: r.proxy.metricsScrape.duringShares,
    idleRssMiB: r.proxy.idleRssMiB,
    restRssMiB: r.proxy.restRssMiB,
    connectedRssMiB: r.proxy.rssAfterConnectMiB,
    rssPerMinerKiB: r.proxy.rssPerMinerKiB,
    afterLeaveRssMiB: r.proxy.rssAfterLeaveMiB,
    keptPerMinerKiB: r.proxy.rssKeptPerMinerKiB,
    errors: r.shares.errors + r.miners.connectErrors,
    rejects: r.shares.rejects,
  };
}

function median(values) {
  const sorted = values.filter((value) => value !== null && Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function medianFigures(runs) {
  const all = runs.map(figures);
  return Object.fromEntries(Object.keys(all[0]).map((key) => [key, median(all.map((f) => f[key]))]));
}

// The figures compared new/baseline (the issue's list, and the split of the share CPU).
const RATIO_KEYS = [
  'cpuPer1000',
  'cpuPer1000ShareWork',
  'idleCpuMsPerMinerPerSecond',
  'idleCpuMsPerMinerPerSecondAboveEmpty',
  'addedP50',
  'addedP99',
  'jobP50',
  'jobP99',
  'idleRssMiB',
  'restRssMiB',
  'rssPerMinerKiB',
  'afterLeaveRssMiB',
];
// Only between two positive figures: an added latency below zero (noise) or a cost at zero has no meaningful ratio.
const ratio = (baseline, next) => (baseline > 0 && next > 0 ? round(next / baseline, 2) : null);

const n = (value, digits = 2) => (value === null || value === undefined ? '-' : Number(value.toFixed(digits)).toLocaleString('en-US'));
const sig = (value) => (value === null || value === undefined ? '-' : Number(value.toPrecision(3)).toString());
/** Rows of the table: label, the cell of one side's figures, and the ratio keys shown in the new/baseline column. */
const ROWS = [
  ['pool protocol behind the proxy (--upstream)', () => options.upstream],
  ['miners connected (on pool connections)', (f) => `${n(f.connected, 0)} in ${n(f.connectSeconds, 1)} s (${n(f.poolConnections, 0)})`],
  [
    'every connected miner has a job, from the first connect',
    (f) =>
      f.allWorkSeconds === null || f.allWorkSeconds === undefined ? '-' : `${n(f.allWorkSeconds, 1)} s (${n(f.withoutWork, 0)} without)`,
  ],
  ['shares per second sustained', (f) => `${n(f.sharesPerSecond, 0)} (${n(f.answered, 0)} in ${options.durationSeconds} s)`],
  ['share round trip through the proxy, p50 / p99 / max', (f) => `${n(f.proxiedP50)} / ${n(f.proxiedP99)} / ${n(f.proxiedMax)} ms`],
  ['share round trip straight to the pool, p50 / p99 / max', (f) => `${n(f.directP50)} / ${n(f.directP99)} / ${n(f.directMax)} ms`],
  ['added by the proxy, p50 / p99', (f) => `${n(f.addedP50)} / ${n(f.addedP99)} ms`, ['addedP50', 'addedP99']],
  [
    'new job to miners during the shares, p50 / p99',
    (f) => `${n(f.jobP50)} / ${n(f.jobP99)} ms (${n(f.jobs, 0)} jobs)`,
    ['jobP50', 'jobP99'],
  ],
  ['new job to miners while idle, p50 / p99', (f) => `${n(f.idleJobP50)} / ${n(f.idleJobP99)} ms (${n(f.idleJobs, 0)} jobs)`],
  [
    'new job straight to miners, p50 / p99 (pool write loop p50)',
    (f) => `${n(f.directJobP50)} / ${n(f.directJobP99)} ms (${n(f.poolWriteLoopP50)} ms)`,
  ],
  [
    'proxy CPU per 1,000 shares, with shares',
    (f) => `${n(f.cpuPer1000, 4)} s (core ${n(f.shareCoreBusyPercent, 1)} % busy)`,
    ['cpuPer1000'],
  ],
  ['  of which idle cost (idle rate x share phase)', (f) => `${n(f.cpuPer1000IdleCost, 4)} s`],
  ['  of which share work (the rest)', (f) => `${n(f.cpuPer1000ShareWork, 4)} s`, ['cpuPer1000ShareWork']],
  [
    'idle CPU per connected miner per second (all of the idle CPU / miners)',
    (f) => `${sig(f.idleCpuMsPerMinerPerSecond)} ms (core ${n(f.idleCoreBusyPercent)} % busy over ${n(f.idleSeconds, 1)} s)`,
    ['idleCpuMsPerMinerPerSecond'],
  ],
  [
    '  above the empty proxy (empty: % of a core); 10,000 idle miners',
    (f) => `${sig(f.idleCpuMsPerMinerPerSecondAboveEmpty)} ms (${n(f.emptyCoreBusyPercent)} %); ${n(f.idleAt10000Percent, 1)} % of a core`,
    ['idleCpuMsPerMinerPerSecondAboveEmpty'],
  ],
  ['proxy event-loop delay during the shares, p99 / max', (f) => `${n(f.loopP99)} / ${n(f.loopMax)} ms`],
  ['one /metrics scrape', (f) => `${n(f.scrapeMs)} ms (${n(f.scrapeLines, 0)} lines; ${n(f.scrapes, 0)} scrapes during the shares)`],
  ['proxy RSS idle (before miners)', (f) => `${n(f.idleRssMiB, 0)} MiB`, ['idleRssMiB']],
  ['proxy RSS at rest (end of the empty window)', (f) => `${n(f.restRssMiB, 0)} MiB`, ['restRssMiB']],
  [
    'proxy memory per connected miner',
    (f) => `${n(f.rssPerMinerKiB, 1)} KiB (${n(f.connectedRssMiB, 0)} MiB connected)`,
    ['rssPerMinerKiB'],
  ],
  [
    `proxy RSS after every miner left (+${options.leaveSeconds} s)`,
    (f) => `${n(f.afterLeaveRssMiB, 0)} MiB (${n(f.keptPerMinerKiB, 1)} KiB per former miner above idle)`,
    ['afterLeaveRssMiB'],
  ],
  ['errors / rejects', (f) => `${n(f.errors, 0)} / ${n(f.rejects, 0)}`],
];

function printSingle(f) {
  say('');
  say('| measure | value |');
  say('|---|---|');
  for (const [label, cell] of ROWS) say(`| ${label} | ${cell(f)} |`);
}

function printComparison(base, next, ratios, baselineInfo, newInfo) {
  const name = (info) => `${info.commit ?? info.dir}${info.modified ? '+' : ''}`;
  say('');
  say(`| measure | baseline ${name(baselineInfo)} | new ${name(newInfo)} | new/baseline |`);
  say('|---|---|---|---|');
  for (const [label, cell, keys] of ROWS) {
    const ratioCell = keys ? keys.map((key) => (ratios[key] === null ? '-' : `${ratios[key]}x`)).join(' / ') : '';
    say(`| ${label} | ${cell(base)} | ${cell(next)} | ${ratioCell} |`);
  }
}

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
  if (baselineDir !== undefined && !existsSync(join(baselineDir, 'dist', 'main.js')))
    throw new Error(`--baseline ${baselineDir}: no dist/main.js there (build it: npm ci && npm run build)`);
  if (baselineDir !== undefined && !existsSync(join(baselineDir, 'node_modules')))
    throw new Error(`--baseline ${baselineDir}: no node_modules there (npm ci in it)`);
  if (cpuProf)
    notes.push(
      "--cpu-prof: the profiler's sampling costs the proxy a few % of a core (about 4 % on the 2-core machine), counted in every CPU figure: take CPU figures from runs without it",
    );
  for (const note of notes) say(`NOTE: ${note}`);
  say(`run: ${JSON.stringify(options)}${baselineDir ? `, baseline ${baselineDir}, ${rounds} round(s)` : ''}`);
  say(
    pin ? `pinning: proxy on core ${PROXY_CORES}, pool and miners on core(s) ${LOAD_CORES}` : 'pinning: off (every process on every core)',
  );
  pinTo(process.pid, LOAD_CORES);

  const header = {
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
  };
  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = header.at.replace(/[:.]/g, '-');
  let output;
  let all;
  if (baselineDir === undefined) {
    const run = await runOnce('new', thisCheckout);
    all = [run];
    // The single run's fields at the top level, as before (older result files and scripts read them there).
    const { label: _label, at: _at, notes: runNotes, ...fields } = run;
    output = { ...header, notes: [...notes, ...runNotes], ...fields };
    printSingle(figures(run));
  } else {
    const runs = { baseline: [], new: [] };
    for (let i = 0; i < rounds; i++) {
      // Alternating, baseline first: a drift of the machine's speed within the invocation falls on both sides.
      if (rounds > 1) say(`round ${i + 1} of ${rounds}`);
      if (together) {
        // Both at once, each with its own pool and miners, the proxies on the same core: the same machine
        // state for both, so a drift of its speed between runs cannot show as a difference.
        const [base, next] = await Promise.all([runOnce('baseline', baselineDir), runOnce('new', thisCheckout)]);
        runs.baseline.push(base);
        runs.new.push(next);
      } else {
        runs.baseline.push(await runOnce('baseline', baselineDir));
        runs.new.push(await runOnce('new', thisCheckout));
      }
    }
    all = [...runs.baseline, ...runs.new];
    const medians = { baseline: medianFigures(runs.baseline), new: medianFigures(runs.new) };
    const ratios = Object.fromEntries(RATIO_KEYS.map((key) => [key, ratio(medians.baseline[key], medians.new[key])]));
    output = {
      ...header,
      notes: [...notes, ...all.flatMap((run) => run.notes)],
      comparison: {
        rounds,
        order: together ? 'baseline and new at the same time (--together)' : 'baseline, new (alternating per round)',
        baseline: describeCheckout(baselineDir),
        new: describeCheckout(thisCheckout),
        // Figures: each side's median over the rounds; ratios: new / baseline of those medians.
        medians,
        ratios,
      },
      runs,
    };
    if (rounds > 1) say(`\n(each column: the median of ${rounds} runs)`);
    printComparison(medians.baseline, medians.new, ratios, output.comparison.baseline, output.comparison.new);
  }
  // Quick runs and comparisons of quick runs share the ignored quick-* prefix.
  const kind = baselineDir === undefined ? '' : 'compare-';
  const file = join(resultsDir, `${quick ? 'quick' : 'full'}-${kind}${upstream === 'sv2' ? 'sv2-' : ''}${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
  for (const note of output.notes) say(`NOTE: ${note}`);
  say(`\nresults: ${file}`);
  for (const run of all) if (run.proxy.cpuProfile) say(`CPU profile (${run.label}): ${run.proxy.cpuProfile}`);
  if (all.some((run) => run.proxy.cpuProfile))
    say('  top functions by self time: node bench/top-functions.mjs <profile> 25 [--phase empty|idle|shares]');
  if (all.some((run) => run.shares.errors + run.miners.connectErrors + run.shares.rejects > 0)) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
