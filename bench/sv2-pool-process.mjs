// Bench SV2 pool (child process): a minimal Stratum V2 pool on 127.0.0.1 for `--upstream sv2`, built on the
// proxy's own SV2 code in dist/protocol/sv2 (the responder session: Noise responder with a certificate from
// its authority key, framing, messages): SetupConnection, extended channels, and every share accepted at once with its own
// SubmitShares.Success, so that what the harness measures is the proxy. Jobs are sent on request from the
// orchestrator, as bench/pool-process.mjs does, with the same ids (1 at the start, one more a job).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { encodeAuthorityKey } from '../dist/protocol/sv2/authority-key.js';
import { generateKeyPair } from '../dist/protocol/sv2/noise.js';
import { Sv2ResponderSession } from '../dist/protocol/sv2/responder-session.js';
import { difficultyToSv2Target } from '../dist/protocol/sv2/sv1-translation.js';

const target = difficultyToSv2Target(Number(process.env.BENCH_DIFFICULTY));
const staticKey = generateKeyPair();
const authority = generateKeyPair();
const peers = new Set();
let nextChannelId = 1;
// One block for the whole run: new work within it is not clean (as real pools send it), so in-flight shares stay valid.
const prevHash = { prevHash: randomBytes(32), minNtime: Math.floor(Date.now() / 1000), nbits: 0x1d00ffff };
let jobCounter = 0;
let job = makeJob();

function makeJob() {
  jobCounter++;
  return {
    type: 'NewExtendedMiningJob',
    jobId: jobCounter,
    version: 0x20000000,
    versionRollingAllowed: true,
    merklePath: [randomBytes(32), randomBytes(32)],
    coinbaseTxPrefix: Buffer.concat([
      Buffer.from('01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20', 'hex'),
      randomBytes(8),
    ]),
    coinbaseTxSuffix: Buffer.concat([
      randomBytes(12),
      Buffer.from('ffffffff0100f2052a010000001976a914', 'hex'),
      randomBytes(20),
      Buffer.from('88ac00000000', 'hex'),
    ]),
  };
}

const send = (peer, message) => peer.socket.write(peer.session.encode(message));

const server = createServer({ noDelay: true }, (socket) => {
  const now = Math.floor(Date.now() / 1000);
  const session = new Sv2ResponderSession({
    staticKey,
    authoritySecretKey: authority.secretKey,
    validFrom: now - 3600,
    notValidAfter: now + 86_400,
  });
  const peer = { socket, session, channels: [] };
  peers.add(peer);
  socket.on('data', (chunk) => {
    try {
      const { reply, messages } = session.receive(chunk);
      if (reply) socket.write(reply);
      for (const message of messages) handle(peer, message);
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => peers.delete(peer));
});
server.maxConnections = 30_000;

function handle(peer, message) {
  switch (message.type) {
    case 'SetupConnection':
      return send(peer, { type: 'SetupConnection.Success', usedVersion: 2, flags: 0 });
    case 'OpenExtendedMiningChannel': {
      const channelId = nextChannelId++;
      const extranoncePrefix = Buffer.alloc(4);
      extranoncePrefix.writeUInt32BE(channelId);
      peer.channels.push(channelId);
      send(peer, {
        type: 'OpenExtendedMiningChannel.Success',
        requestId: message.requestId,
        channelId,
        target: target > message.maxTarget ? message.maxTarget : target,
        extranonceSize: Math.max(8, message.minExtranonceSize),
        extranoncePrefix,
        groupChannelId: 0,
      });
      // As SV2 pools do: the current job as a future one, made current by the prev hash that follows.
      send(peer, { ...job, channelId, minNtime: undefined });
      return send(peer, { type: 'SetNewPrevHash', channelId, jobId: job.jobId, ...prevHash });
    }
    case 'SubmitSharesExtended':
      return send(peer, {
        type: 'SubmitShares.Success',
        channelId: message.channelId,
        lastSequenceNumber: message.sequenceNumber,
        newSubmitsAcceptedCount: 1,
        newSharesSum: 1n,
      });
    default:
      // UpdateChannel and the rest: nothing a bench pool needs to answer.
      return;
  }
}

process.on('message', (command) => {
  if (command.type === 'job') {
    job = makeJob();
    const sentAt = process.hrtime.bigint();
    for (const peer of peers)
      if (peer.session.established) for (const channelId of peer.channels) send(peer, { ...job, channelId, minNtime: prevHash.minNtime });
    // The pool's own fan-out (encoded and encrypted once per channel) is part of every job's timing: report it.
    const writtenAt = process.hrtime.bigint();
    process.send({ type: 'job', jobId: job.jobId.toString(16), sentAt: sentAt.toString(), writtenAt: writtenAt.toString() });
  } else if (command.type === 'stop') {
    server.close();
    for (const peer of peers) peer.socket.destroy();
    process.exit(0);
  }
});

server.listen(0, '127.0.0.1', () =>
  process.send({ type: 'ready', port: server.address().port, authorityPubkey: encodeAuthorityKey(authority.publicKey) }),
);
