/**
 * A simulated Stratum V2 pool for tests: Noise responder with a certificate from its own authority key,
 * SetupConnection, extended channels, future jobs and prev hashes on demand, and real validation of every
 * SubmitSharesExtended (coinbase, merkle root, header, sha256d against the channel's target).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { encodeAuthorityKey } from '../../src/protocol/sv2/authority-key.js';
import {
  SetupConnectionFlags,
  SetupConnectionSuccessFlags,
  type KnownSv2Message,
  type NewExtendedMiningJob,
  type SetupConnection,
  type OpenExtendedMiningChannel,
  type SubmitSharesExtended,
  type UpdateChannel,
} from '../../src/protocol/sv2/messages.js';
import { generateKeyPair, type Sv2KeyPair } from '../../src/protocol/sv2/noise.js';
import { Sv2ResponderSession } from '../../src/protocol/sv2/responder-session.js';
import { difficultyToSv2Target, prevHashToNotify, u32ToHex } from '../../src/protocol/sv2/sv1-translation.js';
import { buildHeader, hashValue } from '../../src/protocol/share-hash.js';
import { powHash } from './pow.js';

export interface SimSv2PoolOptions {
  /** The channels' difficulty (their target is bdiff-1 / difficulty); default 2^-28, about one hash in 16. */
  readonly difficulty?: number;
  readonly extranonceSize?: number;
  readonly versionRollingAllowed?: boolean;
  /** Sign the certificate with another key than the authority key the pool publishes. */
  readonly wrongAuthorityKey?: boolean;
  /** A certificate whose validity ended an hour ago. */
  readonly expiredCertificate?: boolean;
  /** Answer every share with SubmitShares.Error and this code. */
  readonly rejectAll?: string;
  /** Acknowledge accepted shares in batches of this many (default 1); flushAcks() sends a partial batch. */
  readonly ackBatch?: number;
  /** SetupConnection.Success flags (e.g. REQUIRES_FIXED_VERSION). */
  readonly setupFlags?: number;
  /** Answer a SetupConnection asking for version rolling with SetupConnection.Error (unsupported-feature-flags). */
  readonly refuseVersionRolling?: boolean;
  /** Extra bytes in every coinbase (70,000 split over prefix and suffix makes a job frame of two Noise chunks). */
  readonly coinbasePadding?: number;
  /** Refuse OpenExtendedMiningChannel with this error code. */
  readonly refuseChannel?: string;
}

export interface SimSv2Counts {
  accepted: number;
  rejected: number;
}

interface Job {
  readonly message: Omit<NewExtendedMiningJob, 'channelId'>;
  /** The block (prev hash) this job belongs to. */
  block: number;
}

interface PrevHash {
  readonly prevHash: Buffer;
  readonly minNtime: number;
  readonly nbits: number;
}

interface SimChannel {
  readonly id: number;
  readonly userIdentity: string;
  extranoncePrefix: Buffer;
  readonly extranonceSize: number;
  target: bigint;
  readonly seen: Set<string>;
  ack: { last: number; count: number; sum: bigint } | null;
}

interface Peer {
  readonly socket: Socket;
  readonly session: Sv2ResponderSession;
  readonly channels: Map<number, SimChannel>;
  tamperNext: boolean;
}

const NBITS = 0x1d00ffff;
/** Jobs of one floodJobs() call kept for shares: the proxy only ever passes on the newest of a burst. */
const MAX_FLOOD_JOBS_KEPT = 32;

export class SimSv2Pool {
  private server: Server | null = null;
  private readonly peers = new Set<Peer>();
  private readonly staticKey: Sv2KeyPair = generateKeyPair();
  private readonly authority: Sv2KeyPair = generateKeyPair();
  private readonly jobs = new Map<number, Job>();
  private readonly prevHashes = new Map<number, PrevHash>();
  private block = 0;
  private nextJobId = 1;
  private nextChannelId = 1;
  readonly counts = new Map<string, SimSv2Counts>();
  readonly setups: SetupConnection[] = [];
  readonly opens: OpenExtendedMiningChannel[] = [];
  readonly updates: UpdateChannel[] = [];
  readonly submits: SubmitSharesExtended[] = [];
  port = 0;

  constructor(private readonly options: SimSv2PoolOptions = {}) {
    this.prevHashes.set(0, this.randomPrevHash());
  }

  /** The authority key as pools publish it (base58check). */
  get authorityPublicKey(): string {
    return encodeAuthorityKey(this.authority.publicKey);
  }

  get connections(): number {
    return this.peers.size;
  }

  get accepted(): number {
    return [...this.counts.values()].reduce((sum, count) => sum + count.accepted, 0);
  }

  get rejected(): number {
    return [...this.counts.values()].reduce((sum, count) => sum + count.rejected, 0);
  }

  async start(): Promise<number> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.socket.destroy();
    this.peers.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A job for the next block, sent to every channel and not minable until activate(). Returns its id. */
  sendFutureJob(): number {
    const id = this.createJob(this.block + 1, undefined);
    for (const peer of this.peers) for (const channel of peer.channels.values()) this.sendJob(peer, channel, id);
    return id;
  }

  /** A new block: SetNewPrevHash naming a future job sent before (every older job is stale from now on). */
  activate(jobId: number): void {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    this.block++;
    job.block = this.block;
    this.prevHashes.set(this.block, this.randomPrevHash());
    for (const peer of this.peers) for (const channel of peer.channels.values()) this.sendPrevHash(peer, channel, jobId);
  }

  /** sendFutureJob() then activate(). */
  newBlock(): number {
    const id = this.sendFutureJob();
    this.activate(id);
    return id;
  }

  /** A job for the current block (min_ntime set): minable at once, not clean. */
  newJob(): number {
    const id = this.createJob(this.block, this.prevHashes.get(this.block)!.minNtime);
    for (const peer of this.peers) for (const channel of peer.channels.values()) this.sendJob(peer, channel, id);
    return id;
  }

  setTarget(target: bigint): void {
    for (const peer of this.peers)
      for (const channel of peer.channels.values()) {
        channel.target = target;
        this.send(peer, { type: 'SetTarget', channelId: channel.id, maximumTarget: target });
      }
  }

  /**
   * A hostile pool's SetTarget: sent to every channel while shares are still checked against the target the
   * pool really uses (a zero target, or one far easier than the floor the proxy clamps it to).
   */
  pushTarget(target: bigint): void {
    for (const peer of this.peers)
      for (const channel of peer.channels.values()) this.send(peer, { type: 'SetTarget', channelId: channel.id, maximumTarget: target });
  }

  /**
   * A flood: `count` fresh jobs for the current block (minable, so each one is a broadcast the proxy would
   * make) to every channel, in one write per connection. Connections with more than `maxUnsent` bytes not
   * yet taken by the kernel are skipped (the proxy stopped reading them). Returns the jobs written and the
   * id of the newest.
   */
  floodJobs(count: number, maxUnsent = 1 << 20): { sent: number; lastJobId: number } {
    const ids = Array.from({ length: count }, () => this.createJob(this.block, this.prevHashes.get(this.block)!.minNtime));
    let sent = 0;
    for (const peer of this.peers) {
      if (!peer.session.established || peer.socket.destroyed || peer.socket.writableLength > maxUnsent) continue;
      for (const channel of peer.channels.values()) {
        const frames = ids.map((id) => peer.session.encode({ ...this.jobs.get(id)!.message, channelId: channel.id }));
        peer.socket.write(Buffer.concat(frames));
        sent += count;
      }
    }
    // Only the newest jobs can still be mined on: older flood jobs are forgotten, as a pool would.
    for (const id of ids.slice(0, -MAX_FLOOD_JOBS_KEPT)) this.jobs.delete(id);
    return { sent, lastJobId: ids.at(-1)! };
  }

  setExtranoncePrefix(prefix: Buffer): void {
    for (const peer of this.peers)
      for (const channel of peer.channels.values()) {
        channel.extranoncePrefix = prefix;
        this.send(peer, { type: 'SetExtranoncePrefix', channelId: channel.id, extranoncePrefix: prefix });
      }
  }

  closeChannels(reasonCode: string): void {
    for (const peer of this.peers)
      for (const channel of peer.channels.values()) this.send(peer, { type: 'CloseChannel', channelId: channel.id, reasonCode });
  }

  reconnect(newHost = '', newPort = 0): void {
    for (const peer of this.peers) this.send(peer, { type: 'Reconnect', newHost, newPort });
  }

  /** Flip a bit in the next frame sent to every connection (its MAC then fails at the client). */
  tamperNextFrame(): void {
    for (const peer of this.peers) peer.tamperNext = true;
  }

  /** Sends the acknowledgements held back by ackBatch. */
  flushAcks(): void {
    for (const peer of this.peers) for (const channel of peer.channels.values()) this.flushAck(peer, channel);
  }

  /** Drops every connection (the server keeps listening). */
  dropConnections(): void {
    for (const peer of this.peers) peer.socket.destroy();
  }

  private randomPrevHash(): PrevHash {
    return { prevHash: randomBytes(32), minNtime: Math.floor(Date.now() / 1000), nbits: NBITS };
  }

  private createJob(block: number, minNtime: number | undefined): number {
    const jobId = this.nextJobId++;
    this.jobs.set(jobId, {
      block,
      message: {
        type: 'NewExtendedMiningJob',
        jobId,
        minNtime,
        version: 0x20000000,
        versionRollingAllowed: this.options.versionRollingAllowed ?? true,
        merklePath: [randomBytes(32), randomBytes(32)],
        coinbaseTxPrefix: Buffer.concat([
          Buffer.from('01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20', 'hex'),
          randomBytes(8 + Math.ceil((this.options.coinbasePadding ?? 0) / 2)),
        ]),
        coinbaseTxSuffix: Buffer.concat([
          randomBytes(8 + Math.floor((this.options.coinbasePadding ?? 0) / 2)),
          Buffer.from('ffffffff0100f2052a01000000015100000000', 'hex'),
        ]),
      },
    });
    return jobId;
  }

  private accept(socket: Socket): void {
    const now = Math.floor(Date.now() / 1000);
    const validity = this.options.expiredCertificate
      ? { validFrom: now - 7200, notValidAfter: now - 3600 }
      : { validFrom: now - 3600, notValidAfter: now + 3600 };
    const signer = this.options.wrongAuthorityKey ? generateKeyPair() : this.authority;
    const session = new Sv2ResponderSession({ staticKey: this.staticKey, authoritySecretKey: signer.secretKey, ...validity });
    const peer: Peer = { socket, session, channels: new Map(), tamperNext: false };
    this.peers.add(peer);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => this.peers.delete(peer));
    socket.on('data', (chunk: Buffer) => {
      try {
        const { reply, messages } = session.receive(chunk);
        if (reply) socket.write(reply);
        for (const message of messages) this.handle(peer, message as KnownSv2Message);
      } catch {
        socket.destroy();
      }
    });
  }

  private send(peer: Peer, message: KnownSv2Message): void {
    if (!peer.session.established || peer.socket.destroyed) return;
    const bytes = peer.session.encode(message);
    if (peer.tamperNext) {
      peer.tamperNext = false;
      bytes[bytes.length - 1] ^= 0x01;
    }
    peer.socket.write(bytes);
  }

  private handle(peer: Peer, message: KnownSv2Message): void {
    switch (message.type) {
      case 'SetupConnection':
        this.setups.push(message);
        if (message.protocol !== 0 || message.minVersion > 2 || message.maxVersion < 2)
          return this.send(peer, { type: 'SetupConnection.Error', flags: 0, errorCode: 'protocol-version-mismatch' });
        if (this.options.refuseVersionRolling && (message.flags & SetupConnectionFlags.RequiresVersionRolling) !== 0)
          return this.send(peer, {
            type: 'SetupConnection.Error',
            flags: SetupConnectionFlags.RequiresVersionRolling,
            errorCode: 'unsupported-feature-flags',
          });
        return this.send(peer, { type: 'SetupConnection.Success', usedVersion: 2, flags: this.options.setupFlags ?? 0 });
      case 'OpenExtendedMiningChannel':
        return this.open(peer, message);
      case 'UpdateChannel':
        this.updates.push(message);
        return;
      case 'SubmitSharesExtended':
        return this.submit(peer, message);
      default:
        return;
    }
  }

  private open(peer: Peer, request: OpenExtendedMiningChannel): void {
    this.opens.push(request);
    if (this.options.refuseChannel)
      return this.send(peer, { type: 'OpenMiningChannel.Error', requestId: request.requestId, errorCode: this.options.refuseChannel });
    const extranonceSize = Math.max(this.options.extranonceSize ?? 8, request.minExtranonceSize);
    const id = this.nextChannelId++;
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(id);
    let target = difficultyToSv2Target(this.options.difficulty ?? 2 ** -28);
    if (target > request.maxTarget) target = request.maxTarget;
    const channel: SimChannel = {
      id,
      userIdentity: request.userIdentity,
      extranoncePrefix: prefix,
      extranonceSize,
      target,
      seen: new Set(),
      ack: null,
    };
    peer.channels.set(id, channel);
    this.send(peer, {
      type: 'OpenExtendedMiningChannel.Success',
      requestId: request.requestId,
      channelId: id,
      target,
      extranonceSize,
      extranoncePrefix: prefix,
      groupChannelId: 0,
    });
    // As SV2 pools do: a future job at once, made current by the prev hash that follows.
    const jobId = this.createJob(this.block, undefined);
    this.sendJob(peer, channel, jobId);
    this.sendPrevHash(peer, channel, jobId);
  }

  private sendJob(peer: Peer, channel: SimChannel, jobId: number): void {
    this.send(peer, { ...this.jobs.get(jobId)!.message, channelId: channel.id });
  }

  private sendPrevHash(peer: Peer, channel: SimChannel, jobId: number): void {
    const prev = this.prevHashes.get(this.jobs.get(jobId)!.block)!;
    this.send(peer, { type: 'SetNewPrevHash', channelId: channel.id, jobId, ...prev });
  }

  private count(user: string): SimSv2Counts {
    let count = this.counts.get(user);
    if (!count) this.counts.set(user, (count = { accepted: 0, rejected: 0 }));
    return count;
  }

  private submit(peer: Peer, share: SubmitSharesExtended): void {
    this.submits.push(share);
    const channel = peer.channels.get(share.channelId);
    const error = channel ? this.validate(channel, share) : 'invalid-channel-id';
    if (!channel)
      return this.send(peer, {
        type: 'SubmitShares.Error',
        channelId: share.channelId,
        sequenceNumber: share.sequenceNumber,
        errorCode: error!,
      });
    if (error) {
      this.count(channel.userIdentity).rejected++;
      return this.send(peer, { type: 'SubmitShares.Error', channelId: channel.id, sequenceNumber: share.sequenceNumber, errorCode: error });
    }
    this.count(channel.userIdentity).accepted++;
    const ack = channel.ack ?? { last: 0, count: 0, sum: 0n };
    channel.ack = { last: share.sequenceNumber, count: ack.count + 1, sum: ack.sum + 1n };
    if (channel.ack.count >= (this.options.ackBatch ?? 1)) this.flushAck(peer, channel);
  }

  private flushAck(peer: Peer, channel: SimChannel): void {
    const ack = channel.ack;
    if (!ack) return;
    channel.ack = null;
    this.send(peer, {
      type: 'SubmitShares.Success',
      channelId: channel.id,
      lastSequenceNumber: ack.last,
      newSubmitsAcceptedCount: ack.count,
      newSharesSum: ack.sum,
    });
  }

  /** The spec's error code for a share, or null when it is good. */
  private validate(channel: SimChannel, share: SubmitSharesExtended): string | null {
    if (this.options.rejectAll) return this.options.rejectAll;
    const job = this.jobs.get(share.jobId);
    if (!job || job.block > this.block) return 'invalid-job-id';
    if (job.block < this.block) return 'stale-share';
    if (share.extranonce.length !== channel.extranonceSize) return 'invalid-extranonce-size';
    if (!job.message.versionRollingAllowed && share.version !== job.message.version) return 'invalid-version';
    const key = `${share.jobId}:${share.extranonce.toString('hex')}:${share.ntime}:${share.nonce}:${share.version}`;
    if (channel.seen.has(key)) return 'duplicate-share';
    const prev = this.prevHashes.get(job.block)!;
    const header = buildHeader(
      {
        prevhash: prevHashToNotify(prev.prevHash),
        coinb1: job.message.coinbaseTxPrefix.toString('hex'),
        coinb2: job.message.coinbaseTxSuffix.toString('hex'),
        merkleBranch: job.message.merklePath.map((hash) => hash.toString('hex')),
        version: u32ToHex(share.version),
        nbits: u32ToHex(prev.nbits),
      },
      {
        extranonce1: channel.extranoncePrefix.toString('hex'),
        extranonce2: share.extranonce.toString('hex'),
        ntime: u32ToHex(share.ntime),
        nonce: u32ToHex(share.nonce),
      },
    );
    if (hashValue(powHash('sha256', header)) > channel.target) return 'difficulty-too-low';
    channel.seen.add(key);
    return null;
  }
}

/** REQUIRES_FIXED_VERSION, for the setupFlags option. */
export const REQUIRES_FIXED_VERSION = SetupConnectionSuccessFlags.RequiresFixedVersion;
