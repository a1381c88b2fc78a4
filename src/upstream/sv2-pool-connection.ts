import { Logger } from '@nestjs/common';
import { connect, isIP, Socket } from 'node:net';
import { StratumError, StratumErrorCode } from '../protocol/errors.js';
import { nonPublicReason } from '../pools/public-address.js';
import { isHex } from '../protocol/hex.js';
import { rolledVersion } from '../protocol/share-hash.js';
import { decodeAuthorityKey } from '../protocol/sv2/authority-key.js';
import { ByteQueue } from '../protocol/sv2/byte-queue.js';
import { Sv2DecodeError } from '../protocol/sv2/codec.js';
import { DEFAULT_MAX_PAYLOAD, FrameTooLargeError } from '../protocol/sv2/frame.js';
import {
  decodeMessage,
  encodeMessage,
  SetupConnectionFlags,
  SetupConnectionSuccessFlags,
  Sv2Protocol,
  type KnownSv2Message,
  type NewExtendedMiningJob,
  type SetNewPrevHash,
  type Sv2Message,
} from '../protocol/sv2/messages.js';
import { ACT2_SIZE, Sv2NoiseError } from '../protocol/sv2/cipher-state.js';
import type { NoiseInitiator } from '../protocol/sv2/noise.js';
import {
  difficultyToSv2Target,
  hexToU32,
  sv1JobIdToSv2,
  sv2ShareErrorToStratum,
  targetToDifficulty,
  toPoolExtranonce,
  toPoolJob,
  toSubmitSharesExtended,
  u32ToHex,
} from '../protocol/sv2/sv1-translation.js';
import { Sv2TransportDecoder, Sv2TransportEncoder } from '../protocol/sv2/transport.js';
import {
  publicLookup,
  type PoolAccount,
  type PoolConnectionListener,
  type PoolConnectionOptions,
  type ShareVerdict,
} from './pool-connection.js';
import { ReconnectingPoolConnection } from './reconnecting-pool-connection.js';
import type { UpstreamConnection } from './upstream-connection.js';

/** An account on an SV2 pool: no password, but the authority key the pool publishes (base58check). */
export interface Sv2PoolAccount extends PoolAccount {
  readonly authorityPublicKey: string;
}

export interface Sv2PoolConnectionOptions extends PoolConnectionOptions {
  /** OpenExtendedMiningChannel.nominal_hash_rate until updateNominalHashRate() says better (h/s). */
  readonly nominalHashRate?: number;
  /** OpenExtendedMiningChannel.min_extranonce_size: the bytes the channel needs after the pool's prefix. */
  readonly minExtranonceSize?: number;
  /** Largest frame payload accepted from the pool. */
  readonly maxFramePayload?: number;
  /** Unix seconds, for the certificate's validity (tests). */
  readonly now?: () => number;
}

/** The bits the current spec lets a job roll (BIP323), of which BIP310's default is a subset. */
export const SV2_VERSION_ROLLING_BITS = 0x1fffffe0;
/** A stand-in hashrate for a channel opened before any miner was measured: one small ASIC. */
export const DEFAULT_NOMINAL_HASH_RATE = 1e12;
export const DEFAULT_MIN_EXTRANONCE_SIZE = 8;
const MAX_TARGET = (1n << 256n) - 1n;
/** Jobs of the current block kept for submits (the channel keeps as many). */
const MAX_ACTIVE_JOBS = 32;
/** Future jobs waiting for their prev hash. */
const MAX_FUTURE_JOBS = 16;
/** Shares sent and not answered; past this the pool is not keeping up and shares are refused locally. */
const MAX_SHARES_IN_FLIGHT = 65_536;
/** Bytes written to the pool and not yet taken by the kernel; past this the pool is not reading. */
const MAX_OUTBOUND_BYTES = 4 * 1024 * 1024;

/** Down reasons of security failures start so (like "TLS ..." for SV1 over TLS): failover treats them as unreachable. */
export const SV2_SECURITY_REASON_PREFIX = 'Noise ';

// The handshake's curve libraries (about 2 MiB of heap) are loaded with the first SV2 pool, not at start.
let noiseModule: Promise<typeof import('../protocol/sv2/noise.js')> | null = null;
const loadNoise = () => (noiseModule ??= import('../protocol/sv2/noise.js'));

export function isSv2SecurityReason(reason: string): boolean {
  return reason.startsWith(SV2_SECURITY_REASON_PREFIX);
}

/** Answers to what the proxy asked; everything else a pool sends is pushed, and counts against its notification budget. */
const ANSWERS: ReadonlySet<string> = new Set([
  'SetupConnection.Success',
  'SetupConnection.Error',
  'OpenExtendedMiningChannel.Success',
  'OpenMiningChannel.Error',
  'SubmitShares.Success',
  'SubmitShares.Error',
  'UpdateChannel.Error',
]);

interface InFlightShare {
  readonly resolve: (verdict: ShareVerdict) => void;
  readonly timer: NodeJS.Timeout;
}

interface ActiveJob {
  readonly version: number;
  readonly mask: number;
}

type Stage = 'tcp' | 'noise' | 'setup' | 'open' | 'first-job';

/**
 * A Stratum V2 client for one pool account, with the surface and events of PoolConnection so a channel can
 * use either: Noise handshake (the pool's certificate checked against its authority key), SetupConnection,
 * one extended channel whose jobs and targets become SV1 jobs and difficulties, and shares whose verdicts are
 * matched by sequence number. Ready once the channel is open and its first job minable. Dropped connections
 * are retried with backoff (1 s doubling to 30 s) until the owner closes it.
 */
export class Sv2PoolConnection extends ReconnectingPoolConnection implements UpstreamConnection {
  protected readonly logger = new Logger(Sv2PoolConnection.name);
  private encoder: Sv2TransportEncoder | null = null;
  private stage: Stage = 'tcp';
  private readonly authorityKey: Buffer | null;
  private readonly authorityKeyError: string | null;
  private nextRequestId = 1;
  private openRequestId = 0;
  private channelId = 0;
  private channelOpen = false;
  private nextSequence = 0;
  private readonly inFlight = new Map<number, InFlightShare>();
  private fixedVersion = false;
  /** The pool refused the version-rolling flag once: later connections do not ask for it. */
  private rollingRefused = false;
  private readonly futureJobs = new Map<number, NewExtendedMiningJob>();
  private readonly activeJobs = new Map<number, ActiveJob>();
  private prevHash: SetNewPrevHash | null = null;
  private nominalHashRate: number;
  private maxTarget = MAX_TARGET;

  constructor(
    override readonly account: Sv2PoolAccount,
    private readonly options: Sv2PoolConnectionOptions,
    listener: PoolConnectionListener,
    label: string,
  ) {
    super(account, options, listener, label);
    this.nominalHashRate = options.nominalHashRate ?? DEFAULT_NOMINAL_HASH_RATE;
    let key: Buffer | null = null;
    let keyError: string | null = null;
    try {
      key = decodeAuthorityKey(account.authorityPublicKey);
    } catch (error) {
      keyError = `${SV2_SECURITY_REASON_PREFIX}authority key: ${(error as Error).message}`;
    }
    this.authorityKey = key;
    this.authorityKeyError = keyError;
  }

  get sharesInFlight(): number {
    return this.inFlight.size;
  }

  /** Forwards a share as SubmitSharesExtended; resolves with the pool's verdict, or error 20 after submitTimeoutMs. */
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string): Promise<ShareVerdict> {
    const refuse = (message: string, code: number = StratumErrorCode.Other): Promise<ShareVerdict> =>
      Promise.resolve({ accepted: false, error: new StratumError(code, message) });
    if (this.state !== 'ready' || !this.extranonce) return refuse('pool connection is down');
    const id = sv1JobIdToSv2(jobId);
    const job = id === null ? undefined : this.activeJobs.get(id);
    if (id === null || !job) return refuse('job not found', StratumErrorCode.JobNotFound);
    let version = job.version;
    if (versionBits !== undefined) {
      const bits = hexToU32(versionBits);
      if (bits === null) return refuse('version bits must be 8 hex digits');
      // Miners send the rolled bits alone or the whole version; either way nothing may change outside the mask.
      const outside = (bits & ~job.mask) >>> 0;
      if (outside !== 0 && outside !== (job.version & ~job.mask) >>> 0) return refuse('version rolling is not allowed here');
      version = Number.parseInt(rolledVersion(u32ToHex(job.version), versionBits, job.mask), 16);
    }
    if (!isHex(extranonce2, this.extranonce.extranonce2Size)) {
      return refuse(`extranonce2 must be ${this.extranonce.extranonce2Size} bytes`);
    }
    if (this.inFlight.size >= MAX_SHARES_IN_FLIGHT) return refuse('too many shares waiting for the pool');
    let message: KnownSv2Message;
    try {
      message = toSubmitSharesExtended({
        channelId: this.channelId,
        sequenceNumber: this.nextSequence,
        jobId: id,
        extranonce: extranonce2,
        ntime,
        nonce,
        version: u32ToHex(version),
      });
    } catch (error) {
      return refuse((error as Error).message);
    }
    const sequence = this.nextSequence;
    this.nextSequence = (this.nextSequence + 1) >>> 0;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.inFlight.delete(sequence)) return;
        resolve({
          accepted: false,
          error: new StratumError(StratumErrorCode.Other, 'pool did not answer the share in time'),
          timedOut: true,
        });
      }, this.options.submitTimeoutMs);
      this.inFlight.set(sequence, { resolve, timer });
      this.send(message);
    });
  }

  /** The easiest target the channel accepts follows a miner's hint (now, and after every reconnect). */
  suggestDifficulty(difficulty: number): void {
    this.maxTarget = difficultyToSv2Target(difficulty);
    this.updateChannel();
  }

  /** The measured hashrate of the channel's miners, for the pool's vardiff (UpdateChannel). */
  updateNominalHashRate(hashRate: number): void {
    if (!(hashRate >= 0) || !Number.isFinite(hashRate)) return;
    this.nominalHashRate = hashRate;
    this.updateChannel();
  }

  private updateChannel(): void {
    if (this.state !== 'ready') return;
    this.send({ type: 'UpdateChannel', channelId: this.channelId, nominalHashRate: this.nominalHashRate, maximumTarget: this.maxTarget });
  }

  protected open(): void {
    this.state = 'connecting';
    this.stage = 'tcp';
    this.limits.reset();
    this.channelOpen = false;
    this.prevHash = null;
    this.futureJobs.clear();
    this.activeJobs.clear();
    const host = this.account.host;
    const refused = this.authorityKeyError ?? (this.options.publicOnly && isIP(host) ? nonPublicReason(host) : null);
    const socket = refused
      ? new Socket()
      : connect({ host, port: this.port, noDelay: true, lookup: this.options.publicOnly ? publicLookup : undefined });
    this.socket = socket;
    if (refused) {
      const reason = this.authorityKeyError ?? `${refused} (--pools.allowPrivate)`;
      setImmediate(() => this.down(socket, reason));
      return;
    }
    const timer = setTimeout(() => this.down(socket, `connect/handshake timeout (at ${this.stage})`), this.options.connectTimeoutMs);
    socket.setKeepAlive(true, 30_000);
    let initiator: NoiseInitiator | null = null;
    const act2 = new ByteQueue();
    let decoder: Sv2TransportDecoder | null = null;
    socket.on('connect', () => {
      if (socket !== this.socket) return;
      this.stage = 'noise';
      loadNoise().then(
        ({ NoiseInitiator }) => {
          if (socket !== this.socket) return;
          initiator = new NoiseInitiator({ authorityPublicKey: this.authorityKey! });
          socket.write(initiator.writeAct1());
        },
        (error: Error) => this.down(socket, `${SV2_SECURITY_REASON_PREFIX}handshake unavailable: ${error.message}`),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.socket) return;
      if (!decoder) {
        // Nothing is due from the pool before our first act: bytes before it are not a handshake.
        if (!initiator) return this.down(socket, `${SV2_SECURITY_REASON_PREFIX}handshake failed (malformed): the pool spoke first`);
        act2.push(chunk);
        if (act2.length < ACT2_SIZE) return;
        try {
          const session = initiator.readAct2(act2.take(ACT2_SIZE), this.options.now?.() ?? Math.floor(Date.now() / 1000));
          this.encoder = new Sv2TransportEncoder(session.sender);
          decoder = new Sv2TransportDecoder(session.receiver, this.options.maxFramePayload ?? DEFAULT_MAX_PAYLOAD);
        } catch (error) {
          const kind = error instanceof Sv2NoiseError ? error.kind : 'malformed';
          return this.down(socket, `${SV2_SECURITY_REASON_PREFIX}handshake failed (${kind}): ${(error as Error).message}`);
        }
        chunk = act2.take(act2.length);
        this.setup();
      }
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        if (error instanceof Sv2NoiseError) {
          this.listener.onProtocolError('malformed');
          return this.down(socket, `${SV2_SECURITY_REASON_PREFIX}transport failed (${error.kind}): ${error.message}`);
        }
        if (error instanceof Sv2DecodeError) {
          this.listener.onProtocolError(error instanceof FrameTooLargeError ? 'line_too_long' : 'malformed');
          return this.down(socket, `SV2 framing: ${error.message}`);
        }
        throw error;
      }
      for (const frame of frames) {
        if (socket !== this.socket) return;
        let message: Sv2Message;
        try {
          message = decodeMessage(frame);
        } catch (error) {
          if (!(error instanceof Sv2DecodeError)) throw error;
          if (this.overBudget(socket)) return;
          this.protocolError(`undecodable message type 0x${frame.msgType.toString(16)}: ${error.message}`);
          continue;
        }
        if (!ANSWERS.has(message.type) && this.overBudget(socket)) return;
        this.handle(socket, message, timer);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.down(socket, error.code ?? error.message));
    socket.on('close', () => {
      clearTimeout(timer);
      this.down(socket, 'closed by the pool');
    });
  }

  private setup(): void {
    this.stage = 'setup';
    const askRolling = this.options.versionRollingMask !== null && !this.rollingRefused;
    this.send({
      type: 'SetupConnection',
      protocol: Sv2Protocol.Mining,
      minVersion: 2,
      maxVersion: 2,
      flags: askRolling ? SetupConnectionFlags.RequiresVersionRolling : 0,
      endpointHost: this.account.host.slice(0, 255),
      endpointPort: this.port,
      vendor: this.options.userAgent.slice(0, 255),
      hardwareVersion: '',
      firmware: this.options.userAgent.slice(0, 255),
      deviceId: '',
    });
  }

  private handle(socket: Socket, message: Sv2Message, timer: NodeJS.Timeout): void {
    switch (message.type) {
      case 'SetupConnection.Success':
        if (this.stage !== 'setup') return this.protocolError('SetupConnection.Success out of order');
        if (message.usedVersion !== 2) return this.down(socket, `pool chose protocol version ${message.usedVersion}`);
        this.fixedVersion = (message.flags & SetupConnectionSuccessFlags.RequiresFixedVersion) !== 0;
        return this.openChannel();
      case 'SetupConnection.Error':
        if (this.stage !== 'setup') return this.protocolError('SetupConnection.Error out of order');
        if ((message.flags & SetupConnectionFlags.RequiresVersionRolling) !== 0 && !this.rollingRefused) {
          // Mining without version rolling beats not mining: the next attempt does not ask for it.
          this.rollingRefused = true;
          return this.retryWithoutRolling(socket, message.errorCode);
        }
        return this.refused(`SetupConnection.Error: ${message.errorCode}`);
      case 'OpenExtendedMiningChannel.Success':
        if (this.stage !== 'open' || message.requestId !== this.openRequestId)
          return this.protocolError('OpenExtendedMiningChannel.Success for no request');
        if (message.extranonceSize < 1 || message.extranonceSize > 32 || message.extranoncePrefix.length + message.extranonceSize > 32)
          return this.down(socket, `pool gave an extranonce of ${message.extranoncePrefix.length} + ${message.extranonceSize} bytes`);
        this.channelId = message.channelId;
        this.channelOpen = true;
        this.extranonce = toPoolExtranonce(message.extranoncePrefix, message.extranonceSize);
        this.stage = 'first-job';
        return this.setTarget(message.target, 'OpenExtendedMiningChannel.Success');
      case 'OpenMiningChannel.Error':
        if (message.requestId !== this.openRequestId) return this.protocolError('OpenMiningChannel.Error for no request');
        return this.refused(`OpenMiningChannel.Error: ${message.errorCode}`);
      case 'NewExtendedMiningJob':
        if (!this.mine(message.channelId)) return;
        if (message.minNtime === undefined) {
          this.futureJobs.set(message.jobId, message);
          if (this.futureJobs.size > MAX_FUTURE_JOBS) this.futureJobs.delete(this.futureJobs.keys().next().value as number);
          return;
        }
        if (!this.prevHash) return this.protocolError('a job for the current block before any prev hash');
        return this.activate(timer, message, this.prevHash, false);
      case 'SetNewPrevHash': {
        if (!this.mine(message.channelId)) return;
        const job = this.futureJobs.get(message.jobId);
        this.prevHash = message;
        this.futureJobs.clear();
        this.activeJobs.clear();
        if (!job) return this.protocolError(`SetNewPrevHash names job ${message.jobId}, which is not a future job`);
        return this.activate(timer, job, message, true);
      }
      case 'SetTarget':
        if (!this.mine(message.channelId)) return;
        return this.setTarget(message.maximumTarget, 'SetTarget');
      case 'SetExtranoncePrefix':
        if (!this.mine(message.channelId) || !this.extranonce) return;
        if (message.extranoncePrefix.length + this.extranonce.extranonce2Size > 32)
          return this.down(socket, `pool set an extranonce prefix of ${message.extranoncePrefix.length} bytes`);
        this.extranonce = toPoolExtranonce(message.extranoncePrefix, this.extranonce.extranonce2Size);
        // A job still waiting was made for the old prefix: void, as the channel's are.
        this.limits.jobs.discard();
        if (this.limits.firstTime('set_extranonce'))
          this.logger.log(
            `${this.label}: pool ${this.address} set extranonce prefix (size ${this.extranonce.extranonce2Size}); further changes are not logged`,
          );
        return this.listener.onExtranonce(this.extranonce);
      case 'SubmitShares.Success':
        if (this.mine(message.channelId)) this.acknowledge(message.lastSequenceNumber, message.newSubmitsAcceptedCount);
        return;
      case 'SubmitShares.Error': {
        if (!this.mine(message.channelId)) return;
        const share = this.inFlight.get(message.sequenceNumber);
        if (!share) return;
        this.inFlight.delete(message.sequenceNumber);
        clearTimeout(share.timer);
        return share.resolve({ accepted: false, error: sv2ShareErrorToStratum(message.errorCode) });
      }
      case 'CloseChannel':
        if (!this.mine(message.channelId)) return;
        return this.down(socket, `CloseChannel: ${message.reasonCode || 'no reason given'}`);
      case 'Reconnect':
        return this.reconnectRequested(socket, message.newHost, message.newPort);
      case 'UpdateChannel.Error':
        if (this.limits.firstTime('update_channel'))
          this.logger.warn(`${this.label}: pool ${this.address} refused UpdateChannel: ${message.errorCode}`);
        return;
      default:
        // Group channels, endpoint changes, other extensions: nothing an extended channel needs.
        return;
    }
  }

  private openChannel(): void {
    this.stage = 'open';
    this.openRequestId = this.nextRequestId++;
    if (Buffer.byteLength(this.account.user) > 255) return this.refused('user identity longer than 255 bytes');
    this.send({
      type: 'OpenExtendedMiningChannel',
      requestId: this.openRequestId,
      userIdentity: this.account.user,
      nominalHashRate: this.nominalHashRate,
      maxTarget: this.maxTarget,
      minExtranonceSize: this.options.minExtranonceSize ?? DEFAULT_MIN_EXTRANONCE_SIZE,
    });
  }

  /** Messages for another channel than ours are ignored (a pool may group channels). */
  private mine(channelId: number): boolean {
    return this.channelOpen && channelId === this.channelId;
  }

  /** The pool's target as the miners' difficulty, never below the floor; a zero target (no share could meet it) is refused. */
  private setTarget(target: bigint, from: string): void {
    if (target === 0n) return this.protocolError(`${from} with a zero target`);
    const difficulty = this.limits.difficulty(targetToDifficulty(target));
    // A job waiting to go out was issued under the old target: it goes first.
    this.limits.jobs.flush();
    this.difficulty = difficulty;
    this.listener.onDifficulty(this.difficulty);
  }

  /** A job became minable: the first one makes the connection ready, later ones go to the channel. */
  private activate(timer: NodeJS.Timeout, job: NewExtendedMiningJob, prevHash: SetNewPrevHash, clean: boolean): void {
    if (!this.extranonce) return;
    const mask = this.maskFor(job);
    const poolJob = toPoolJob(job, prevHash, clean);
    this.activeJobs.set(job.jobId, { version: job.version, mask: mask ?? 0 });
    if (this.activeJobs.size > MAX_ACTIVE_JOBS) this.activeJobs.delete(this.activeJobs.keys().next().value as number);
    this.lastJob = poolJob;
    if (this.state !== 'ready') {
      clearTimeout(timer);
      this.state = 'ready';
      this.versionMask = mask;
      this.backoff.reset();
      this.logger.log(
        `${this.label}: pool ${this.address} up over SV2 (account ${this.account.user}, channel ${this.channelId}, extranonce size ${this.extranonce.extranonce2Size})`,
      );
      return this.listener.onReady(this.extranonce, this.versionMask);
    }
    if (mask !== null && mask !== this.versionMask) {
      // Jobs waiting were made under the old mask: they go out before it changes.
      this.limits.jobs.flush();
      this.versionMask = mask;
      this.listener.onVersionMask(mask);
    }
    this.limits.jobs.offer(poolJob);
  }

  /** The mask miners may roll on this job: none unless the pool allows it for the job and the connection. */
  private maskFor(job: NewExtendedMiningJob): number | null {
    const wanted = this.options.versionRollingMask;
    if (wanted === null) return null;
    if (this.fixedVersion || this.rollingRefused || !job.versionRollingAllowed) return 0;
    return (wanted & SV2_VERSION_ROLLING_BITS) >>> 0;
  }

  /** SubmitShares.Success: every share in flight up to lastSequence is accepted (errors were answered one by one). */
  private acknowledge(lastSequence: number, acceptedCount: number): void {
    let resolved = 0;
    for (const [sequence, share] of this.inFlight) {
      // Sequence numbers wrap at 2^32: "at or before" is a distance under half the space.
      if ((lastSequence - sequence) >>> 0 >= 0x80000000) break;
      this.inFlight.delete(sequence);
      clearTimeout(share.timer);
      share.resolve({ accepted: true });
      resolved++;
    }
    if (resolved !== acceptedCount && this.limits.firstTime('ack_count'))
      this.logger.warn(
        `${this.label}: pool ${this.address} acknowledged ${acceptedCount} shares up to ${lastSequence}, ${resolved} were waiting; further ones are not logged`,
      );
  }

  /** Follows Reconnect only to the same host (a pool must not send miners elsewhere); reconnects here otherwise. */
  private reconnectRequested(socket: Socket, newHost: string, newPort: number): void {
    if (newHost !== '' && newHost.toLowerCase() !== this.account.host.toLowerCase()) {
      this.limits.breach('reconnect_refused', `asked to reconnect to another host ${newHost.slice(0, 255)}: reconnecting here instead`);
    } else if (newPort !== 0) {
      this.port = newPort;
    }
    if (this.limits.firstTime('reconnect'))
      this.logger.log(`${this.label}: pool ${this.address} asked to reconnect (port ${this.port}); further requests are not logged`);
    this.backoff.waitNext(0);
    this.down(socket, 'Reconnect');
  }

  /**
   * A new attempt at once, not reported down: the pool is reachable and only refused an optional flag, and a
   * channel seeing an unreachable account would move its miners to a backup.
   */
  private retryWithoutRolling(socket: Socket, errorCode: string): void {
    this.logger.warn(`${this.label}: pool ${this.address} refused version rolling (${errorCode}): connecting again without it`);
    this.socket = null;
    this.encoder = null;
    socket.destroy();
    setImmediate(() => {
      if (this.state === 'connecting' && this.socket === null) this.open();
    });
  }

  /** The pool refused the connection or the account for good. */
  private refused(reason: string): void {
    this.logger.warn(`${this.label}: pool ${this.address} refused account ${this.account.user}: ${reason}`);
    this.close();
    this.listener.onAuthorizeFailed(reason);
  }

  private protocolError(detail: string): void {
    this.limits.breach('bad_message', `sent a bad message: ${detail}`);
  }

  /** Frames for the pool go out together once the current turn of the event loop is done (as PoolConnection's lines). */
  private send(message: KnownSv2Message): void {
    const socket = this.socket;
    if (!socket || !this.encoder) return;
    if (!socket.writableCorked) {
      socket.cork();
      setImmediate(() => socket.uncork());
    }
    socket.write(this.encoder.encode(encodeMessage(message)));
    if (socket.writableLength > MAX_OUTBOUND_BYTES) this.down(socket, `pool is not reading (over ${MAX_OUTBOUND_BYTES} bytes unsent)`);
  }

  protected forget(reason: string): void {
    this.encoder = null;
    const shares = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const share of shares) {
      clearTimeout(share.timer);
      share.resolve({ accepted: false, error: new StratumError(StratumErrorCode.Other, reason) });
    }
  }
}
