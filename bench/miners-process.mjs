// Bench miners (child process): N Stratum miners on 127.0.0.1 that subscribe, authorize and submit real
// shares (sha256d at the pool's tiny difficulty) at a total rate, recording each share's round trip and
// when each job arrived. Direct miners talk to the pool itself, for the baseline round trip.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';

const config = JSON.parse(process.env.BENCH_MINERS);
const DIFF1 = 0xffffn << 208n;
const sha256d = (data) => createHash('sha256').update(createHash('sha256').update(data).digest()).digest();

const miners = [];
const roundTrips = [];
const jobArrivals = new Map(); // jobId -> arrival times (hrtime, ns) of every miner behind the proxy
const directJobArrivals = new Map(); // the same for the miners connected straight to the pool
let errors = 0;
let rejects = 0;
let submitted = 0;

function targetFor(difficulty) {
  const scaled = BigInt(Math.round(difficulty * 2 ** 40));
  const target = (DIFF1 << 40n) / scaled;
  return Buffer.from((target > (1n << 256n) - 1n ? (1n << 256n) - 1n : target).toString(16).padStart(64, '0'), 'hex');
}

function meets(hash, target) {
  for (let i = 0; i < 32; i++) {
    const h = hash[31 - i];
    if (h !== target[i]) return h < target[i];
  }
  return true;
}

class Miner {
  constructor(index, port, login, direct) {
    Object.assign(this, { index, port, login, direct, pending: new Map(), nextId: 1, job: null, difficulty: 1, counter: 0 });
  }

  start() {
    return new Promise((resolve, reject) => {
      const socket = connect({ port: this.port, host: '127.0.0.1', noDelay: true });
      this.socket = socket;
      let buffer = '';
      socket.on('data', (chunk) => {
        // Stamped on arrival, before this process parses anything: its own cost stays out of the job timing.
        this.receivedAt = process.hrtime.bigint();
        buffer += chunk.toString();
        let newline;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line) this.handle(JSON.parse(line));
        }
      });
      socket.on('error', (error) => {
        errors++;
        reject(error);
      });
      socket.on('close', () => {
        if (!this.stopping) errors++;
      });
      socket.on('connect', async () => {
        const subscribed = await this.request('mining.subscribe', ['bench-miner/1.0']);
        [, this.extranonce1, this.extranonce2Size] = subscribed.result;
        const authorized = await this.request('mining.authorize', [this.login, 'x']);
        if (authorized.result !== true) {
          errors++;
          return reject(new Error(`authorize failed: ${JSON.stringify(authorized)}`));
        }
        resolve();
      });
    });
  }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.write(`{"id":${id},"method":"${method}","params":${JSON.stringify(params)}}\n`);
    });
  }

  handle(message) {
    if (message.method === 'mining.notify') {
      this.firstJobAt ??= Date.now();
      const [id, prevhash, coinb1, coinb2, branch, version, nbits, ntime] = message.params;
      this.job = { id, prevhash, coinb1, coinb2, branch, version, nbits, ntime, target: targetFor(this.difficulty) };
      const byJob = this.direct ? directJobArrivals : jobArrivals;
      let arrivals = byJob.get(id);
      if (!arrivals) byJob.set(id, (arrivals = []));
      arrivals.push(this.receivedAt);
    } else if (message.method === 'mining.set_difficulty') {
      this.difficulty = message.params[0];
    } else if (message.method === undefined) {
      const resolve = this.pending.get(message.id);
      this.pending.delete(message.id);
      resolve?.(message);
    }
  }

  /** Hashes a valid share for the current job and submits it; records the round trip. */
  submitShare() {
    const job = this.job;
    if (!job) return;
    const extranonce2 = (this.counter++)
      .toString(16)
      .padStart(this.extranonce2Size * 2, '0')
      .slice(-this.extranonce2Size * 2);
    let root = sha256d(Buffer.from(job.coinb1 + this.extranonce1 + extranonce2 + job.coinb2, 'hex'));
    for (const hash of job.branch) root = sha256d(Buffer.concat([root, Buffer.from(hash, 'hex')]));
    const prev = Buffer.from(job.prevhash, 'hex');
    for (let i = 0; i < 32; i += 4) prev.subarray(i, i + 4).reverse();
    const header = Buffer.concat([
      Buffer.from(job.version, 'hex').reverse(),
      prev,
      root,
      Buffer.from(job.ntime, 'hex').reverse(),
      Buffer.from(job.nbits, 'hex').reverse(),
      Buffer.alloc(4),
    ]);
    let nonce = 0;
    for (; nonce < 1_000_000; nonce++) {
      header.writeUInt32LE(nonce, 76);
      if (meets(sha256d(header), job.target)) break;
    }
    submitted++;
    const started = process.hrtime.bigint();
    this.request('mining.submit', [this.login, job.id, extranonce2, job.ntime, nonce.toString(16).padStart(8, '0')]).then((response) => {
      if (response.result === true) roundTrips.push({ direct: this.direct, ns: Number(process.hrtime.bigint() - started) });
      else rejects++;
    });
  }
}

process.on('message', async (command) => {
  if (command.type === 'connect') {
    const { proxyPort, poolPort, logins, count, directCount, concurrency } = config;
    for (let i = 0; i < count; i++) miners.push(new Miner(i, proxyPort, logins[i % logins.length], false));
    for (let i = 0; i < directCount; i++) miners.push(new Miner(count + i, poolPort, `direct${i}`, true));
    let next = 0;
    const started = Date.now();
    const worker = async () => {
      while (next < miners.length) await miners[next++].start().catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, miners.length) }, worker));
    const seconds = (Date.now() - started) / 1000;
    // Connected is not mining: wait (at most 30 s) until every connected miner has had its first job.
    const connectedMiners = miners.filter((miner) => miner.extranonce1 !== undefined);
    const waitUntil = Date.now() + 30_000;
    while (connectedMiners.some((miner) => miner.firstJobAt === undefined) && Date.now() < waitUntil)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const withJob = connectedMiners.filter((miner) => miner.firstJobAt !== undefined);
    process.send({
      type: 'connected',
      connected: connectedMiners.length,
      seconds,
      allWorkSeconds: withJob.length > 0 ? (Math.max(...withJob.map((miner) => miner.firstJobAt)) - started) / 1000 : null,
      withoutWork: connectedMiners.length - withJob.length,
      errors,
    });
  } else if (command.type === 'shares') {
    const { rate, directRate, durationSeconds } = command;
    const proxied = miners.filter((miner) => !miner.direct);
    const direct = miners.filter((miner) => miner.direct);
    let p = 0;
    let d = 0;
    const tickMs = 10;
    let owedProxied = 0;
    let owedDirect = 0;
    const started = Date.now();
    submitted = 0;
    roundTrips.length = 0;
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        if (Date.now() - started >= durationSeconds * 1000) {
          clearInterval(timer);
          return resolve();
        }
        owedProxied += (rate * tickMs) / 1000;
        owedDirect += (directRate * tickMs) / 1000;
        for (; owedProxied >= 1; owedProxied--) proxied[p++ % proxied.length].submitShare();
        for (; owedDirect >= 1 && direct.length > 0; owedDirect--) direct[d++ % direct.length].submitShare();
      }, tickMs);
    });
    // Let the last verdicts arrive (bounded).
    const deadline = Date.now() + 5000;
    while (roundTrips.length + rejects < submitted && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const seconds = (Date.now() - started) / 1000;
    process.send({
      type: 'shares',
      submitted,
      answered: roundTrips.length + rejects,
      rejects,
      errors,
      seconds,
      proxied: roundTrips.filter((r) => !r.direct).map((r) => r.ns),
      direct: roundTrips.filter((r) => r.direct).map((r) => r.ns),
    });
  } else if (command.type === 'arrivals') {
    const arrivals = jobArrivals.get(command.jobId) ?? [];
    const direct = directJobArrivals.get(command.jobId) ?? [];
    process.send({ type: 'arrivals', jobId: command.jobId, arrivals: arrivals.map(String), direct: direct.map(String) });
  } else if (command.type === 'disconnect') {
    // Every miner leaves (a clean close, as a miner that shuts down): the proxy's memory afterwards shows a leak.
    const closed = miners.map((miner) => {
      miner.stopping = true;
      const socket = miner.socket;
      if (!socket || socket.destroyed) return Promise.resolve();
      return new Promise((resolve) => {
        socket.once('close', resolve);
        socket.end();
        setTimeout(() => socket.destroy(), 2000).unref();
      });
    });
    await Promise.all(closed);
    process.send({ type: 'disconnected', miners: closed.length });
  } else if (command.type === 'stop') {
    for (const miner of miners) {
      miner.stopping = true;
      miner.socket?.destroy();
    }
    process.exit(0);
  }
});

process.send({ type: 'ready' });
