// The floor under a proxy that validates shares in Node.js: a deliberately minimal Stratum V1 proxy in plain
// JavaScript (node: builtins only) that does the per-share work every aggregating proxy must do, and nothing else.
// It answers the few API calls and flags the bench needs, so that it runs as a --baseline, as null-relay.mjs does:
//   mkdir -p /tmp/lean-proxy/dist /tmp/lean-proxy/node_modules && cp bench/lean-proxy.mjs /tmp/lean-proxy/dist/main.js
//   node bench/load.mjs --baseline /tmp/lean-proxy --together [--miners N --rate R ...]
// What it does: one pool connection per registered account, opened at the account's first authorize (subscribe,
// authorize, then set_difficulty and notify relayed to every miner on it, each notify serialized once per
// connection; a miner that joins gets the pool's last set_difficulty, even before the first notify, then the
// current job); each miner gets its own PREFIX_BYTES-byte extranonce1 at subscribe (before its account is known, so
// the pool's extranonce1 goes into the coinb1 it is sent and zero padding in front of coinb2, as the real proxy
// does). Every share: params checked, job found (the last JOBS_KEPT per connection), coinbase, merkle root and
// 80-byte header rebuilt, sha256d checked against the difficulty the job came with (rejected here when low), then
// forwarded to the pool with a fresh id and the pool's answer relayed to the miner; accepted and rejected
// shares counted per worker.
// What it leaves out, compared with the real proxy: per-miner vardiff (miners get the pool's difficulty),
// duplicate detection, stale and ntime checks, version-rolling negotiation (mining.configure), metrics beyond a
// few totals, persistence and the database, failover and reconnects (a lost pool closes its miners), more than
// one connection per account (aggregation limits), fair share and pool switching, timeouts, backpressure,
// TLS, SV2, authentication of the API, logging.
import { createServer as createHttpServer } from 'node:http';
import * as crypto from 'node:crypto';
import { connect, createServer } from 'node:net';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log(
    'lean proxy for the bench: --stratum.addr=HOST:PORT --web.addr=HOST:PORT --stratum.maxConnections=N --db.path=IGNORED --api.token=IGNORED',
  );
  process.exit(0);
}
const flag = (name) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const address = (text) => {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
};
const stratum = address(flag('stratum.addr') ?? '127.0.0.1:3333');
const web = address(flag('web.addr') ?? '127.0.0.1:8080');

const PREFIX_BYTES = 2; // the proxy's per-miner extranonce1, carved from the pool's extranonce2
const MINER_EXTRANONCE2_BYTES = 4; // what miners get (the real proxy's default); the rest of the pool's is zero padding
const EN2_HEX = MINER_EXTRANONCE2_BYTES * 2;
const JOBS_KEPT = 8;
const MAX_LINE = 16_384;
const VERSION_MASK = 0x1fffe000; // BIP310's usual mask, for a 6-parameter submit
const DIFF1 = 0xffffn << 208n;
const MAX_TARGET = (1n << 256n) - 1n;

// ---- hashing -------------------------------------------------------------------------------------------------
const sha256 =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();
const sha256d = (data) => sha256(sha256(data));

/** floor(diff1 / difficulty) as 32 big-endian bytes, exact: the double is scaled by powers of two to an integer. */
function targetFor(difficulty) {
  if (!(difficulty > 0) || !Number.isFinite(difficulty)) return Buffer.from(MAX_TARGET.toString(16), 'hex');
  let scaled = difficulty;
  let shift = 0n;
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    shift++;
  }
  let target = (DIFF1 << shift) / BigInt(scaled);
  if (target > MAX_TARGET) target = MAX_TARGET;
  return Buffer.from(target.toString(16).padStart(64, '0'), 'hex');
}

/** hash (sha256d output, read little-endian) <= target (big-endian bytes). */
function meets(hash, target) {
  for (let i = 0; i < 32; i++) {
    const h = hash[31 - i];
    const t = target[i];
    if (h !== t) return h < t;
  }
  return true;
}

/** Writes 8 hex digits (a big-endian wire field) little-endian at offset; false when not hex. */
function writeLe32(buffer, offset, hex) {
  if (buffer.write(hex, offset, 4, 'hex') !== 4) return false;
  const b0 = buffer[offset];
  const b1 = buffer[offset + 1];
  buffer[offset] = buffer[offset + 3];
  buffer[offset + 1] = buffer[offset + 2];
  buffer[offset + 2] = b1;
  buffer[offset + 3] = b0;
  return true;
}

const HEX_32 = /^[0-9a-fA-F]{64}$/;
const HEX_4 = /^[0-9a-fA-F]{8}$/;
const EVEN_HEX = /^(?:[0-9a-fA-F]{2})*$/;
const merkleStep = Buffer.alloc(64); // root ‖ branch hash; shares are checked one at a time

/**
 * A pool job decoded once: the coinbase and header as scratch buffers with the job's fixed bytes in place, so a
 * share only writes its own fields. Null when a field is not plain hex of the right length.
 */
function prepareJob(params, up) {
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  if (typeof jobId !== 'string' || !HEX_32.test(prevhash) || !EVEN_HEX.test(coinb1) || !EVEN_HEX.test(coinb2)) return null;
  if (!Array.isArray(branch) || !branch.every((hash) => HEX_32.test(hash)) || !HEX_4.test(version) || !HEX_4.test(nbits)) return null;
  // What the miner is sent: coinb1 + the pool's extranonce1, and the zero padding + coinb2.
  const minerCoinb1 = coinb1 + up.extranonce1;
  const minerCoinb2 = up.padding + coinb2;
  const head = Buffer.from(minerCoinb1, 'hex');
  const tail = Buffer.from(minerCoinb2, 'hex');
  const coinbase = Buffer.alloc(head.length + PREFIX_BYTES + MINER_EXTRANONCE2_BYTES + tail.length);
  head.copy(coinbase, 0);
  tail.copy(coinbase, head.length + PREFIX_BYTES + MINER_EXTRANONCE2_BYTES);
  const header = Buffer.alloc(80);
  const versionValue = Number.parseInt(version, 16) >>> 0;
  const prev = Buffer.from(prevhash, 'hex');
  for (let i = 0; i < 32; i += 4) {
    // each 4-byte word of the wire prevhash byte-swapped
    header[4 + i] = prev[i + 3];
    header[5 + i] = prev[i + 2];
    header[6 + i] = prev[i + 1];
    header[7 + i] = prev[i];
  }
  writeLe32(header, 72, nbits);
  const line = Buffer.from(
    `${JSON.stringify({ id: null, method: 'mining.notify', params: [jobId, prevhash, minerCoinb1, minerCoinb2, branch, version, nbits, ntime, clean === true] })}\n`,
  );
  return {
    id: jobId,
    clean: clean === true,
    line,
    // set_difficulty applies from the next job: each job keeps the difficulty it came with
    difficulty: up.difficulty,
    target: targetFor(up.difficulty),
    coinbase,
    prefixAt: head.length,
    branch: Buffer.from(branch.join(''), 'hex'),
    header,
    versionValue,
  };
}

/** sha256d of the share's header, or null when the miner's hex fields are not hex. */
function shareHash(job, prefix, extranonce2, ntime, nonce, versionBits) {
  const { coinbase, header } = job;
  coinbase.write(prefix, job.prefixAt, PREFIX_BYTES, 'hex');
  if (coinbase.write(extranonce2, job.prefixAt + PREFIX_BYTES, MINER_EXTRANONCE2_BYTES, 'hex') !== MINER_EXTRANONCE2_BYTES) return null;
  if (!writeLe32(header, 68, ntime) || !writeLe32(header, 76, nonce)) return null;
  let version = job.versionValue;
  if (versionBits !== undefined) {
    if (!HEX_4.test(versionBits)) return null;
    version = ((version & ~VERSION_MASK) | (Number.parseInt(versionBits, 16) & VERSION_MASK)) >>> 0;
  }
  header.writeUInt32LE(version, 0);
  let root = sha256d(coinbase);
  const { branch } = job;
  for (let offset = 0; offset < branch.length; offset += 32) {
    root.copy(merkleStep, 0);
    branch.copy(merkleStep, 32, offset, offset + 32);
    root = sha256d(merkleStep);
  }
  root.copy(header, 36);
  return sha256d(header);
}

// ---- state ---------------------------------------------------------------------------------------------------
const pools = new Map(); // "host:port" -> { host, port }
const accounts = new Map(); // login name -> { name, host, port, user, password, upstream }
const workers = new Map(); // worker (the miner's login) -> { accepted, rejected }
const heldPrefixes = new Set();
let prefixCursor = 0;
let minersConnected = 0;

function allocatePrefix() {
  const space = 256 ** PREFIX_BYTES;
  for (let i = 0; i < space; i++) {
    const value = prefixCursor;
    prefixCursor = (prefixCursor + 1) % space;
    if (!heldPrefixes.has(value)) {
      heldPrefixes.add(value);
      return value;
    }
  }
  return -1;
}

const errorReply = (replyId, code, text) => `{"id":${replyId},"result":null,"error":[${code},${JSON.stringify(text)},null]}\n`;
const difficultyLine = (difficulty) => `{"id":null,"method":"mining.set_difficulty","params":[${difficulty}]}\n`;

// ---- upstream: one pool connection per account -----------------------------------------------------------
function openUpstream(account) {
  const up = {
    account,
    socket: connect({ host: account.host, port: account.port, noDelay: true }),
    ready: false,
    extranonce1: null, // set by the subscribe answer
    padding: '',
    difficulty: 1,
    difficultyText: '', // the pool's last set_difficulty line, for miners that join before its first job
    jobs: new Map(),
    lastJob: null,
    miners: new Set(),
    waiting: [], // miners that authorized before the pool did
    pending: new Map(), // pool request id -> { miner, replyId, stats }
    nextId: 3,
    userJson: JSON.stringify(account.user),
  };
  account.upstream = up;
  const { socket } = up;
  socket.setEncoding('utf8');
  socket.write(
    `{"id":1,"method":"mining.subscribe","params":["lean-proxy/1.0"]}\n` +
      `{"id":2,"method":"mining.authorize","params":[${up.userJson},${JSON.stringify(account.password)}]}\n`,
  );
  readLines(socket, 1_048_576, (line) => poolLine(up, line));
  const lost = () => closeUpstream(up);
  socket.on('error', lost).on('close', lost);
  return up;
}

function poolLine(up, line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof message !== 'object' || message === null) return;
  const { method } = message;
  if (method === 'mining.notify') {
    if (!up.ready || !Array.isArray(message.params)) return;
    const job = prepareJob(message.params, up);
    if (!job) return;
    if (job.clean) up.jobs.clear();
    up.jobs.set(job.id, job);
    if (up.jobs.size > JOBS_KEPT) up.jobs.delete(up.jobs.keys().next().value);
    up.lastJob = job;
    for (const miner of up.miners) miner.socket.write(job.line);
  } else if (method === 'mining.set_difficulty') {
    const difficulty = Array.isArray(message.params) ? Number(message.params[0]) : NaN;
    if (!(difficulty > 0)) return;
    up.difficulty = difficulty;
    const text = (up.difficultyText = difficultyLine(difficulty));
    for (const miner of up.miners) miner.socket.write(text);
  } else if (method === undefined) {
    const { id } = message;
    const share = up.pending.get(id);
    if (share) {
      up.pending.delete(id);
      const accepted = message.result === true;
      if (accepted) share.stats.accepted++;
      else share.stats.rejected++;
      if (!share.miner.socket.destroyed)
        share.miner.socket.write(
          accepted
            ? `{"id":${share.replyId},"result":true,"error":null}\n`
            : `{"id":${share.replyId},"result":false,"error":${JSON.stringify(message.error ?? [20, 'rejected by the pool', null])}}\n`,
        );
    } else if (id === 1) {
      const [, extranonce1, size] = Array.isArray(message.result) ? message.result : [];
      if (typeof extranonce1 !== 'string' || !EVEN_HEX.test(extranonce1) || !(size >= PREFIX_BYTES + MINER_EXTRANONCE2_BYTES))
        return up.socket.destroy();
      up.extranonce1 = extranonce1;
      up.padding = '00'.repeat(size - PREFIX_BYTES - MINER_EXTRANONCE2_BYTES);
    } else if (id === 2) {
      if (message.result !== true || up.extranonce1 === null) return up.socket.destroy();
      up.ready = true;
      for (const waiting of up.waiting) join(up, waiting.miner, waiting.replyId);
      up.waiting = [];
    }
  }
}

/**
 * A miner on a ready connection: authorized, then the difficulty and the current job. The difficulty goes out even
 * before the first job (the pool's set_difficulty may have come and gone while its first notify is still on the
 * way): a miner that got none mines that notify at difficulty 1, a million hashes a share, rejected here as low.
 */
function join(up, miner, replyId) {
  if (miner.socket.destroyed) return;
  miner.upstream = up;
  up.miners.add(miner);
  const job = up.lastJob;
  let text = `{"id":${replyId},"result":true,"error":null}\n${job ? difficultyLine(job.difficulty) : up.difficultyText}`;
  if (job) {
    text += job.line.toString();
    if (up.difficulty !== job.difficulty) text += difficultyLine(up.difficulty);
  }
  miner.socket.write(text);
}

/** The pool is gone: pending shares answered with an error, its miners closed (no failover here). */
function closeUpstream(up) {
  if (up.account.upstream !== up) return;
  up.account.upstream = null;
  up.socket.destroy();
  for (const share of up.pending.values())
    if (!share.miner.socket.destroyed) share.miner.socket.write(errorReply(share.replyId, 20, 'pool connection lost'));
  up.pending.clear();
  for (const miner of up.miners) miner.socket.destroy();
  for (const waiting of up.waiting) waiting.miner.socket.destroy();
}

// ---- miners ------------------------------------------------------------------------------------------------
function minerLine(miner, line) {
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    if (++miner.badLines > 10) miner.socket.destroy();
    return;
  }
  if (typeof message !== 'object' || message === null) return;
  const replyId = JSON.stringify(message.id ?? null);
  switch (message.method) {
    case 'mining.submit':
      return submit(miner, message.params, replyId);
    case 'mining.subscribe':
      return miner.socket.write(
        `{"id":${replyId},"result":[[["mining.set_difficulty","${miner.prefix}"],["mining.notify","${miner.prefix}"]],"${miner.prefix}",${MINER_EXTRANONCE2_BYTES}],"error":null}\n`,
      );
    case 'mining.authorize':
      return authorize(miner, message.params, replyId);
    default:
      if (message.method !== undefined) miner.socket.write(errorReply(replyId, 20, 'unknown method'));
  }
}

function authorize(miner, params, replyId) {
  const login = Array.isArray(params) && typeof params[0] === 'string' ? params[0] : '';
  const dot = login.indexOf('.');
  const account = accounts.get(dot === -1 ? login : login.slice(0, dot));
  if (!account) return miner.socket.write(`{"id":${replyId},"result":false,"error":[24,"unknown account",null]}\n`);
  if (miner.upstream) return miner.socket.write(errorReply(replyId, 20, 'already authorized'));
  let stats = workers.get(login);
  if (!stats) workers.set(login, (stats = { accepted: 0, rejected: 0 }));
  miner.stats = stats;
  const up = account.upstream ?? openUpstream(account);
  if (up.ready) join(up, miner, replyId);
  else up.waiting.push({ miner, replyId });
}

function submit(miner, params, replyId) {
  const up = miner.upstream;
  const { socket } = miner;
  if (!up) return socket.write(errorReply(replyId, 24, 'unauthorized worker'));
  const stats = miner.stats;
  if (!Array.isArray(params) || (params.length !== 5 && params.length !== 6)) {
    stats.rejected++;
    return socket.write(errorReply(replyId, 20, 'mining.submit takes 5 or 6 parameters'));
  }
  const [, jobId, extranonce2, ntime, nonce, versionBits] = params;
  if (
    typeof jobId !== 'string' ||
    typeof extranonce2 !== 'string' ||
    extranonce2.length !== EN2_HEX ||
    typeof ntime !== 'string' ||
    ntime.length !== 8 ||
    typeof nonce !== 'string' ||
    nonce.length !== 8 ||
    (versionBits !== undefined && typeof versionBits !== 'string')
  ) {
    stats.rejected++;
    return socket.write(errorReply(replyId, 20, 'malformed share'));
  }
  const job = up.jobs.get(jobId);
  if (!job) {
    stats.rejected++;
    return socket.write(errorReply(replyId, 21, 'job not found'));
  }
  const hash = shareHash(job, miner.prefix, extranonce2, ntime, nonce, versionBits);
  if (hash === null) {
    stats.rejected++;
    return socket.write(errorReply(replyId, 20, 'malformed share'));
  }
  if (!meets(hash, job.target)) {
    stats.rejected++;
    return socket.write(errorReply(replyId, 23, 'low difficulty share'));
  }
  const id = up.nextId++;
  up.pending.set(id, { miner, replyId, stats });
  up.socket.write(
    `{"id":${id},"method":"mining.submit","params":[${up.userJson},${JSON.stringify(jobId)},"${miner.prefix}${extranonce2}${up.padding}","${ntime}","${nonce}"${versionBits === undefined ? '' : `,"${versionBits}"`}]}\n`,
  );
}

const server = createServer({ noDelay: true }, (socket) => {
  const value = allocatePrefix();
  if (value < 0) return socket.destroy();
  minersConnected++;
  const miner = {
    socket,
    prefixValue: value,
    prefix: value.toString(16).padStart(PREFIX_BYTES * 2, '0'),
    upstream: null,
    stats: null,
    badLines: 0,
  };
  socket.setEncoding('utf8');
  readLines(socket, MAX_LINE, (line) => minerLine(miner, line));
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    minersConnected--;
    heldPrefixes.delete(miner.prefixValue);
    miner.upstream?.miners.delete(miner);
  });
});
server.maxConnections = Number(flag('stratum.maxConnections') ?? 30_000) || 30_000;
server.listen(stratum.port, stratum.host);

// ---- the API the bench uses --------------------------------------------------------------------------------
/** "host:port" (a stratum+tcp:// prefix allowed), or null. */
function parsePool(text) {
  const match = /^(?:stratum\+tcp:\/\/)?([^:/]+):(\d+)$/.exec(String(text ?? ''));
  return match ? { host: match[1], port: Number(match[2]) } : null;
}

const api = createHttpServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const json = (status, value) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const path = request.url.split('?')[0];
    let input = {};
    try {
      if (body) input = JSON.parse(body);
    } catch {
      return json(400, { error: 'the body is not JSON' });
    }
    if (request.method === 'GET' && path === '/api/v1/algorithms') return json(200, [{ name: 'sha256' }]);
    if (request.method === 'POST' && path === '/api/v1/pools') {
      if (input.protocol !== undefined && input.protocol !== 'sv1') return json(400, { error: 'the lean proxy speaks SV1 only' });
      const pool = parsePool(`${input.host}:${input.port}`);
      if (!pool) return json(400, { error: 'host and port required' });
      pools.set(`${pool.host}:${pool.port}`, pool);
      return json(201, pool);
    }
    if (request.method === 'POST' && path === '/api/v1/users') {
      const pool = parsePool(input.pool);
      if (!pool || !pools.has(`${pool.host}:${pool.port}`)) return json(400, { error: `pool ${input.pool} is not registered` });
      if (typeof input.user !== 'string' || input.user === '') return json(400, { error: 'user required' });
      const name = `u${accounts.size + 1}`;
      accounts.set(name, { name, ...pool, user: input.user, password: String(input.password ?? ''), upstream: null });
      return json(201, { name, pool: input.pool, user: input.user });
    }
    if (request.method === 'GET' && path === '/metrics') {
      let accepted = 0;
      let rejected = 0;
      for (const stats of workers.values()) {
        accepted += stats.accepted;
        rejected += stats.rejected;
      }
      let connections = 0;
      for (const account of accounts.values()) if (account.upstream?.ready) connections++;
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      return response.end(
        `# lean proxy: a few totals only\nproxy_pool_connections{proxy="lean"} ${connections}\nproxy_miners_connected ${minersConnected}\n` +
          `proxy_shares_total{result="accepted"} ${accepted}\nproxy_shares_total{result="rejected"} ${rejected}\n`,
      );
    }
    json(404, { error: `no route ${request.method} ${path}` });
  });
});
api.listen(web.port, web.host);

for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    server.close();
    api.close();
    process.exit(0);
  });

/** Calls onLine for each non-empty line of a utf8 socket; a peer whose unfinished line passes maxBuffered is closed. */
function readLines(socket, maxBuffered, onLine) {
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer = buffer.length === 0 ? chunk : buffer + chunk;
    let start = 0;
    let newline;
    while ((newline = buffer.indexOf('\n', start)) !== -1) {
      const line = buffer.slice(start, newline);
      start = newline + 1;
      if (line.length > 1) onLine(line);
    }
    if (start > 0) buffer = buffer.slice(start);
    if (buffer.length > maxBuffered) socket.destroy();
  });
}
