// Bench pool (child process): a minimal Stratum pool on 127.0.0.1 that accepts every share at once, so
// what the harness measures is the proxy. Jobs are broadcast on request from the orchestrator, which gets
// the monotonic send time (process.hrtime is CLOCK_MONOTONIC, comparable across processes).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';

const difficulty = Number(process.env.BENCH_DIFFICULTY);
const peers = new Set();
let extranonceCounter = 0;
let jobCounter = 0;
let job = makeJob(true);

/** New work within the same block is not clean (as real pools send it), so in-flight shares stay valid. */
function makeJob(clean) {
  jobCounter++;
  return [
    jobCounter.toString(16),
    randomBytes(32).toString('hex'),
    `01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20${randomBytes(8).toString('hex')}`,
    `${randomBytes(12).toString('hex')}ffffffff0100f2052a010000001976a914${randomBytes(20).toString('hex')}88ac00000000`,
    [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')],
    '20000000',
    '1d00ffff',
    Math.floor(Date.now() / 1000)
      .toString(16)
      .padStart(8, '0'),
    clean,
  ];
}

const server = createServer({ noDelay: true }, (socket) => {
  const peer = { socket, authorized: false };
  peers.add(peer);
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line) handle(peer, JSON.parse(line));
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => peers.delete(peer));
});
server.maxConnections = 30_000;

function handle(peer, message) {
  const reply = (result, error = null) =>
    peer.socket.write(`{"id":${JSON.stringify(message.id)},"result":${JSON.stringify(result)},"error":${JSON.stringify(error)}}\n`);
  switch (message.method) {
    case 'mining.subscribe':
      return reply([[['mining.notify', 'b1']], (extranonceCounter++).toString(16).padStart(8, '0'), 8]);
    case 'mining.authorize':
      reply(true);
      peer.authorized = true;
      peer.socket.write(`{"id":null,"method":"mining.set_difficulty","params":[${difficulty}]}\n`);
      peer.socket.write(`{"id":null,"method":"mining.notify","params":${JSON.stringify(job)}}\n`);
      return;
    case 'mining.submit':
      return reply(true);
    default:
      return reply(null, [20, 'unknown method', null]);
  }
}

process.on('message', (command) => {
  if (command.type === 'job') {
    job = makeJob(false);
    const line = `{"id":null,"method":"mining.notify","params":${JSON.stringify(job)}}\n`;
    const sentAt = process.hrtime.bigint();
    for (const peer of peers) if (peer.authorized) peer.socket.write(line);
    // The pool's own fan-out (one write per connection) is part of every job's timing: report it.
    const writtenAt = process.hrtime.bigint();
    process.send({ type: 'job', jobId: job[0], sentAt: sentAt.toString(), writtenAt: writtenAt.toString() });
  } else if (command.type === 'stop') {
    server.close();
    for (const peer of peers) peer.socket.destroy();
    process.exit(0);
  }
});

server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
