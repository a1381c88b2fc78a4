import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import type { RejectReason, ShareOutcome } from '../../accounting/accounting.service.js';
import type { PoolConnection, PoolConnectionListener } from '../../pools/upstream/pool-connection.js';
import type { User } from '../../users/user.entity.js';
import { classifyPoolReject, StratumError, StratumErrorCode } from '../protocol/errors.js';
import { ExtranonceTranslation, fitsPool, minerNotifyLine, poolExtranonce2, translation } from '../protocol/extranonce.js';
import { difficultyToTarget, nbitsToTarget } from '../protocol/difficulty.js';
import { encodeNotification, RpcId } from '../protocol/json-rpc.js';
import { buildHeader, hashMeetsTarget, targetBytes } from '../protocol/share-hash.js';
import { SHARE_HASHERS, UNKNOWN_ALGORITHM } from '../../pools/algorithms/share-hashers.js';
import { AuthorizeRequest, ConfigureRequest, decodeSubmit, decodeVersionMask, maskHex } from '../protocol/miner-messages.js';
import type { PoolExtranonce, PoolJob } from '../protocol/pool-messages.js';
import type { CloseReason, StratumConnection } from '../transport/stratum-connection.js';

export type SessionState = 'connected' | 'subscribed' | 'authorized' | 'lingering' | 'closed';

/** What a session needs from the rest of the proxy. */
export interface SessionHost {
  readonly config: AppConfig;
  resolveUser(name: string): Promise<User | null>;
  connectPool(session: MinerSession, user: User, versionRollingMask: number | null, listener: PoolConnectionListener): PoolConnection;
  releasePool(connection: PoolConnection): void;
  /** The session ended for good (closed, linger expired, pool gave up). */
  sessionEnded(session: MinerSession): void;
  /** Accounting: the worker is authorized on its (current) connection, or left it. */
  workerConnected(session: MinerSession): void;
  workerDisconnected(session: MinerSession): void;
  workerDifficulty(session: MinerSession, difficulty: number): void;
  shareForwarded(session: MinerSession, difficulty: number): void;
  shareAnswered(session: MinerSession, difficulty: number, outcome: ShareOutcome, roundTripSeconds?: number): void;
  /** Accounting: the session's pool connection came up, went down, or failed to connect. */
  poolStatus(session: MinerSession, status: 'up' | 'down' | 'failed' | 'refused'): void;
  poolProtocolError(session: MinerSession, kind: string): void;
  /** A share met its job's block target. */
  blockFound(session: MinerSession, hash: Buffer): void;
  /** An accepted share of a pool whose algorithm is not known yet: evidence for detection. */
  detectAlgorithm(session: MinerSession, header: Buffer, difficulty: number): void;
}

/** A job as this session's miner received it, with the translation in force when it was sent. */
export interface TrackedJob {
  readonly job: PoolJob;
  readonly translation: ExtranonceTranslation;
  /** The pool difficulty that applies to shares of this job (difficulty changes apply from the next job). */
  readonly difficulty: number | null;
  /** Shares already submitted for this job (extranonce2, ntime, nonce, version bits), for duplicates; made on the first share. */
  seen: Set<string> | null;
}

/** Job ids replaced by clean jobs, remembered to tell "stale" from "never existed". */
const MAX_STALE_JOB_IDS = 64;

/** Jobs kept per session for late submits; older ones are answered as stale. */
const MAX_TRACKED_JOBS = 32;

/**
 * One miner: its Stratum state machine, its extranonce slot (prefix P, extranonce2 size m), its pool
 * connection and the jobs it may submit to. Outlives its TCP connection for the linger time, so a miner
 * that reconnects with its session id resumes with the same P, pool connection, difficulty and job.
 */
export class MinerSession {
  private readonly logger = new Logger(MinerSession.name);
  state: SessionState = 'connected';
  connection: StratumConnection | null;
  user: User | null = null;
  rig: string | null = null;
  extranonce2Size: number;
  /** The version-rolling mask agreed with the miner (null: not negotiated). */
  versionMask: number | null = null;
  /** The mask the miner was last told (configure answer or set_version_mask). */
  private announcedVersionMask: number | null = null;
  extranonceSubscribed = false;
  suggestedDifficulty: number | null = null;
  pool: PoolConnection | null = null;
  /** Current pool difficulty as last sent to the miner. */
  difficulty: number | null = null;
  private translation: ExtranonceTranslation | null = null;
  private readonly jobs = new Map<string, TrackedJob>();
  private readonly staleJobIds = new Set<string>();
  private cachedTarget: { difficulty: number; bytes: Buffer } | null = null;
  private lastJob: PoolJob | null = null;
  private forceCleanNext = true;
  private lingerTimer: NodeJS.Timeout | null = null;
  private poolReady: ((ready: boolean) => void) | null = null;
  /** Whether accounting counts this session's pool connection as up. */
  private poolCountedUp = false;
  connectedSince = Date.now();

  constructor(
    readonly id: string,
    /** The proxy's own extranonce1 for this miner (hex). */
    readonly prefix: string,
    connection: StratumConnection,
    private readonly host: SessionHost,
  ) {
    this.connection = connection;
    this.extranonce2Size = host.config.stratum.extranonce2Size;
  }

  get label(): string {
    const who = this.user ? ` user ${this.user.name}${this.rig ? `.${this.rig}` : ''}` : '';
    return `session ${this.id} (${this.connection?.address ?? 'disconnected'}${who})`;
  }

  get prefixBytes(): number {
    return this.prefix.length / 2;
  }

  /** `mining.subscribe` result: subscriptions keyed by the session id, P and m. */
  subscribeResult(): unknown[] {
    if (this.state === 'connected') this.state = 'subscribed';
    return [
      [
        ['mining.set_difficulty', this.id],
        ['mining.notify', this.id],
      ],
      this.prefix,
      this.extranonce2Size,
    ];
  }

  /** BIP310: answered at once; the pool is asked for the same mask when it connects. */
  configure(request: ConfigureRequest): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const extension of request.extensions) {
      switch (extension) {
        case 'version-rolling': {
          const mask = (decodeVersionMask(request.parameters['version-rolling.mask']) & this.host.config.stratum.versionMask) >>> 0;
          const poolMask = this.pool?.versionMask ?? null;
          this.versionMask = poolMask === null ? mask : (mask & poolMask) >>> 0;
          this.announcedVersionMask = this.versionMask;
          result['version-rolling'] = true;
          result['version-rolling.mask'] = maskHex(this.versionMask);
          break;
        }
        case 'subscribe-extranonce':
          this.extranonceSubscribed = true;
          result['subscribe-extranonce'] = true;
          break;
        case 'minimum-difficulty':
          // The pool sets the difficulty; the proxy cannot promise a floor.
          result['minimum-difficulty'] = false;
          break;
        case 'info':
          result.info = true;
          break;
        default:
          result[extension] = false;
      }
    }
    return result;
  }

  /** Authorize with a registered name; answers the miner itself (then sends difficulty and job). */
  async authorize(requestId: RpcId, request: AuthorizeRequest): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    const user = await this.host.resolveUser(request.name);
    if (!user) {
      this.logger.warn(`${this.label}: authorize as ${JSON.stringify(request.login.slice(0, 64))} refused: unknown name`);
      connection.replyResult(requestId, false);
      return;
    }
    if (this.user?.name === user.name && this.pool && !this.pool.isClosed) {
      // Same name again (typically after a resume): nothing moves, the miner gets its work again.
      this.rig = request.rig;
      this.state = 'authorized';
      this.host.workerConnected(this);
      connection.replyResult(requestId, true);
      this.sendWork(true);
      return;
    }
    if (this.pool) {
      this.logger.log(`${this.label}: moving to user ${user.name} (pool ${user.pool.address})`);
      this.dropPool();
    }
    this.user = user;
    this.rig = request.rig;
    this.translation = null;
    this.retireJobs();
    this.lastJob = null;
    this.difficulty = null;
    const ready = new Promise<boolean>((resolve) => (this.poolReady = resolve));
    this.pool = this.host.connectPool(this, user, this.versionMask, this.poolListener());
    if (this.suggestedDifficulty !== null) this.pool.suggestDifficulty(this.suggestedDifficulty);
    // Wait for the pool's verdict on the account, but not past the connect timeout: an unreachable pool
    // is retried in the background and the miner is disconnected if it gives up.
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(true), this.host.config.upstream.connectTimeoutMs).unref());
    const accepted = await Promise.race([ready, timeout]);
    this.poolReady = null;
    if (this.connection !== connection || !connection.isOpen) return;
    if (!accepted) {
      connection.replyResult(requestId, false);
      return;
    }
    this.state = 'authorized';
    this.logger.log(`${this.label}: authorized for pool ${user.pool.address}`);
    this.host.workerConnected(this);
    connection.replyResult(requestId, true);
    this.sendWork(true);
  }

  /**
   * Checks a share locally (fields, job, version bits; with --shares.validate also duplicates and the
   * hash against the target), forwards it, and answers the miner when the pool's verdict comes.
   */
  async submit(requestId: RpcId, params: unknown): Promise<StratumError | undefined> {
    if (this.state === 'subscribed' || this.state === 'connected')
      return new StratumError(StratumErrorCode.UnauthorizedWorker, 'unauthorized worker');
    const rejectLocally = (reason: RejectReason, error: StratumError, difficulty = this.difficulty ?? 1) => {
      this.host.shareAnswered(this, difficulty, { accepted: false, reason });
      return error;
    };
    let share;
    try {
      share = decodeSubmit(params);
    } catch (error) {
      if (error instanceof StratumError) rejectLocally('malformed', error);
      throw error;
    }
    if (share.extranonce2.length !== this.extranonce2Size * 2) {
      return rejectLocally('malformed', new StratumError(StratumErrorCode.Other, `extranonce2 must be ${this.extranonce2Size} bytes`));
    }
    if (share.versionBits !== undefined) {
      const bits = Number.parseInt(share.versionBits, 16) >>> 0;
      if (this.versionMask === null)
        return rejectLocally('version_mask', new StratumError(StratumErrorCode.Other, 'version rolling was not negotiated'));
      if ((bits & ~this.versionMask) >>> 0 !== 0)
        return rejectLocally('version_mask', new StratumError(StratumErrorCode.Other, 'version bits outside the negotiated mask'));
    }
    const tracked = this.jobs.get(share.jobId);
    if (!tracked) {
      const stale = this.staleJobIds.has(share.jobId);
      return rejectLocally(
        stale ? 'stale' : 'unknown_job',
        new StratumError(StratumErrorCode.JobNotFound, stale ? 'stale job' : 'job not found (stale)'),
      );
    }
    // A share counts the difficulty its job was issued under (1 when the pool never set one).
    const difficulty = tracked.difficulty ?? 1;
    const upstreamExtranonce2 = poolExtranonce2(this.prefix, share.extranonce2, tracked.translation);
    const algorithm = this.user!.pool.algorithm;
    const validate = this.host.config.shares.validate;
    const unknownAlgorithm = algorithm.name === UNKNOWN_ALGORITHM;
    const hasher = validate ? SHARE_HASHERS.get(algorithm.name) : undefined;
    let header: Buffer | null = null;
    if (hasher || unknownAlgorithm) {
      header = buildHeader(tracked.job, {
        extranonce1: tracked.translation.poolExtranonce1,
        extranonce2: upstreamExtranonce2,
        ntime: share.ntime,
        nonce: share.nonce,
        versionBits: share.versionBits,
        versionMask: share.versionBits === undefined ? undefined : (this.versionMask ?? undefined),
      });
    }
    if (validate) {
      const key = `${share.extranonce2}:${share.ntime}:${share.nonce}:${share.versionBits ?? ''}`;
      const seen = (tracked.seen ??= new Set());
      if (seen.has(key))
        return rejectLocally('local_duplicate', new StratumError(StratumErrorCode.DuplicateShare, 'duplicate share'), difficulty);
      seen.add(key);
    }
    if (hasher && header) {
      const hash = await hasher.hash(header);
      // Low only if it misses both the job's difficulty and the current one (miners switch at the next job).
      const easiest = Math.min(difficulty, this.difficulty ?? difficulty);
      if (!hashMeetsTarget(hash, this.shareTarget(easiest / algorithm.divider))) {
        return rejectLocally(
          'local_low_difficulty',
          new StratumError(StratumErrorCode.LowDifficultyShare, 'low difficulty share'),
          difficulty,
        );
      }
      if (hashMeetsTarget(hash, targetBytes(nbitsToTarget(tracked.job.nbits)))) this.host.blockFound(this, hash);
    }
    const pool = this.pool;
    if (!pool || !pool.isReady)
      return rejectLocally('pool_down', new StratumError(StratumErrorCode.Other, 'pool connection is down'), difficulty);
    const connection = this.connection;
    const sentAt = performance.now();
    this.host.shareForwarded(this, difficulty);
    void pool.submit(tracked.job.jobId, upstreamExtranonce2, share.ntime, share.nonce, share.versionBits).then((verdict) => {
      const roundTrip = (performance.now() - sentAt) / 1000;
      if (verdict.accepted) {
        this.host.shareAnswered(this, difficulty, { accepted: true }, roundTrip);
        if (unknownAlgorithm && header) this.host.detectAlgorithm(this, header, difficulty);
      } else {
        this.host.shareAnswered(
          this,
          difficulty,
          { accepted: false, reason: verdict.timedOut ? 'timeout' : classifyPoolReject(verdict.error) },
          roundTrip,
        );
      }
      if (!connection?.isOpen || requestId === null) return;
      if (verdict.accepted) connection.replyResult(requestId, true);
      else connection.replyError(requestId, verdict.error.toTuple());
    });
    this.logger.debug?.(`${this.label}: share job ${share.jobId} nonce ${share.nonce} forwarded`);
    return undefined;
  }

  /** The share target for a difficulty-1-scaled difficulty, cached: miners keep one difficulty for long. */
  private shareTarget(difficulty: number): Buffer {
    if (this.cachedTarget?.difficulty !== difficulty)
      this.cachedTarget = { difficulty, bytes: targetBytes(difficultyToTarget(difficulty)) };
    return this.cachedTarget.bytes;
  }

  suggestDifficulty(difficulty: number): void {
    this.suggestedDifficulty = difficulty;
    this.pool?.suggestDifficulty(difficulty);
  }

  /** A reconnecting miner takes its session back, with what its new connection negotiated before subscribe. */
  resume(connection: StratumConnection, negotiated: MinerSession): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    const previous = this.connection;
    this.connection = connection;
    if (previous && previous !== connection) previous.close('client-closed');
    this.state = 'subscribed';
    this.connectedSince = Date.now();
    // The new connection knows no jobs yet: everything is resent after authorize.
    this.forceCleanNext = true;
    this.extranonceSubscribed = negotiated.extranonceSubscribed;
    if (negotiated.versionMask !== null) {
      const poolMask = this.pool?.versionMask ?? null;
      this.versionMask = poolMask === null ? negotiated.versionMask : (negotiated.versionMask & poolMask) >>> 0;
    }
    this.announcedVersionMask = negotiated.announcedVersionMask;
    this.fitExtranonce2Size();
    this.logger.log(`${this.label}: resumed`);
  }

  /** The miner's connection closed: keep the session for the linger time, unless it never subscribed. */
  detach(connection: StratumConnection, reason: CloseReason): void {
    if (this.connection !== connection || this.state === 'closed') return;
    this.connection = null;
    this.host.workerDisconnected(this);
    if (reason === 'server-shutdown' || this.state === 'connected' || !this.user) {
      this.end();
      return;
    }
    this.state = 'lingering';
    this.lingerTimer = setTimeout(() => {
      this.logger.log(`${this.label}: not resumed within ${this.host.config.stratum.sessionLingerMs} ms: closed`);
      this.end();
    }, this.host.config.stratum.sessionLingerMs);
  }

  /** Ends the session for good: closes the miner's connection and the pool connection. */
  end(reason?: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.dropPool();
    const connection = this.connection;
    this.connection = null;
    if (connection && reason) connection.close(reason);
    this.host.sessionEnded(this);
  }

  /** Forgets every current job; late shares for them are answered as stale. */
  private retireJobs(): void {
    for (const id of this.jobs.keys()) {
      this.staleJobIds.add(id);
      if (this.staleJobIds.size > MAX_STALE_JOB_IDS) this.staleJobIds.delete(this.staleJobIds.values().next().value as string);
    }
    this.jobs.clear();
  }

  private track(job: PoolJob): TrackedJob {
    const tracked: TrackedJob = { job, translation: this.translation!, difficulty: this.difficulty, seen: null };
    this.staleJobIds.delete(job.jobId);
    this.jobs.set(job.jobId, tracked);
    if (this.jobs.size > MAX_TRACKED_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    return tracked;
  }

  private dropPool(): void {
    if (this.pool) this.host.releasePool(this.pool);
    this.pool = null;
    this.markPoolDown();
  }

  private markPoolDown(): void {
    if (!this.poolCountedUp) return;
    this.poolCountedUp = false;
    this.host.poolStatus(this, 'down');
  }

  private poolListener(): PoolConnectionListener {
    return {
      onReady: (extranonce, versionMask) => {
        this.poolCountedUp = true;
        this.host.poolStatus(this, 'up');
        this.applyPoolExtranonce(extranonce);
        this.applyPoolVersionMask(versionMask);
        if (this.poolReady) {
          this.poolReady(true); // the first connect: authorize sends the work
        } else if (this.pool?.lastJob) {
          // A reconnect: the pool's first job (sent before its authorize answer) goes out clean.
          this.acceptJob(this.pool.lastJob);
        }
      },
      onAuthorizeFailed: (reason) => {
        this.pool = null;
        this.host.poolStatus(this, 'refused');
        if (this.poolReady) {
          this.poolReady(false);
          return;
        }
        this.logger.warn(`${this.label}: pool refused the account after authorize (${reason}): disconnecting the miner`);
        this.end('pool-refused');
      },
      onJob: (job) => this.acceptJob(job),
      onDifficulty: (difficulty) => {
        this.difficulty = difficulty;
        if (this.state !== 'authorized') return;
        this.host.workerDifficulty(this, difficulty);
        this.connection?.write(encodeNotification('mining.set_difficulty', [difficulty]));
      },
      onExtranonce: (extranonce) => this.applyPoolExtranonce(extranonce),
      onVersionMask: (mask) => this.applyPoolVersionMask(mask),
      onDown: (_reason, wasReady) => {
        if (wasReady) this.markPoolDown();
        else this.host.poolStatus(this, 'failed');
        // Jobs of a lost connection can never be accepted again.
        this.retireJobs();
        this.forceCleanNext = true;
      },
      onProtocolError: (kind) => this.host.poolProtocolError(this, kind),
      onGiveUp: () => {
        this.pool = null;
        this.markPoolDown();
        this.poolReady?.(true);
        this.end('pool-unreachable');
      },
    };
  }

  /** A new pool extranonce (connect, reconnect or set_extranonce): only the rewriting changes. */
  private applyPoolExtranonce(extranonce: PoolExtranonce): void {
    this.retireJobs();
    this.forceCleanNext = true;
    const n = extranonce.extranonce2Size;
    if (fitsPool(n, this.prefixBytes, this.extranonce2Size)) {
      this.translation = translation(extranonce.extranonce1, n, this.prefixBytes, this.extranonce2Size);
      return;
    }
    const fitted = n - this.prefixBytes;
    if (fitted < 1) {
      this.logger.warn(`${this.label}: pool extranonce2 size ${n} leaves no room for the proxy's prefix: disconnecting`);
      this.end('pool-refused');
      return;
    }
    this.translation = translation(extranonce.extranonce1, n, this.prefixBytes, fitted);
    const told = this.extranonce2Size;
    this.extranonce2Size = fitted;
    if (!this.connection) return; // lingering: the resumed subscribe answers with the size that fits
    if (this.extranonceSubscribed) {
      this.logger.log(
        `${this.label}: pool extranonce2 size ${n} is too small for ${told}: sending mining.set_extranonce with size ${fitted}`,
      );
      this.connection.write(encodeNotification('mining.set_extranonce', [this.prefix, fitted]));
      return;
    }
    // The miner cannot be told: it reconnects with its session id and gets sizes that fit.
    this.logger.log(`${this.label}: pool extranonce2 size ${n} is too small for ${told}: closing so the miner resumes with size ${fitted}`);
    this.connection.close('reconnect-required');
  }

  private applyPoolVersionMask(poolMask: number | null): void {
    if (this.versionMask === null || poolMask === null) return;
    const narrowed = (this.versionMask & poolMask) >>> 0;
    if (narrowed === this.versionMask) return;
    this.versionMask = narrowed;
    this.logger.log(`${this.label}: pool narrowed the version mask to ${maskHex(poolMask)}`);
    if (this.state === 'authorized') this.announceVersionMask();
  }

  /** set_version_mask takes effect at once (BIP310), so it is sent as soon as the miner may mine. */
  private announceVersionMask(): void {
    if (this.versionMask === null || this.versionMask === this.announcedVersionMask || !this.connection) return;
    this.announcedVersionMask = this.versionMask;
    this.connection.write(encodeNotification('mining.set_version_mask', [maskHex(this.versionMask)]));
  }

  /** On resume, a pool whose extranonce2 is too small for m gives the miner the size that fits. */
  private fitExtranonce2Size(): void {
    const extranonce = this.pool?.extranonce;
    if (!extranonce) return;
    const fitted = Math.min(this.host.config.stratum.extranonce2Size, extranonce.extranonce2Size - this.prefixBytes);
    if (fitted >= 1 && fitted !== this.extranonce2Size) {
      this.extranonce2Size = fitted;
      this.translation = translation(extranonce.extranonce1, extranonce.extranonce2Size, this.prefixBytes, fitted);
      this.retireJobs();
    }
  }

  private acceptJob(job: PoolJob): void {
    if (!this.translation) return;
    const clean = job.cleanJobs || this.forceCleanNext;
    if (clean) this.retireJobs();
    this.track(job);
    this.lastJob = job;
    if (this.state !== 'authorized' || !this.connection) return;
    this.forceCleanNext = false;
    this.connection.write(minerNotifyLine(job, this.translation, clean));
  }

  /** Sends the current difficulty and the last job (clean) after authorize or resume. */
  private sendWork(clean: boolean): void {
    const connection = this.connection;
    if (!connection) return;
    this.announceVersionMask();
    const difficulty = this.difficulty ?? this.pool?.difficulty ?? null;
    if (difficulty !== null) {
      this.difficulty = difficulty;
      this.host.workerDifficulty(this, difficulty);
      connection.write(encodeNotification('mining.set_difficulty', [difficulty]));
    }
    const job = this.lastJob ?? this.pool?.lastJob ?? null;
    if (job && this.translation) {
      this.retireJobs();
      this.track(job);
      this.lastJob = job;
      this.forceCleanNext = false;
      connection.write(minerNotifyLine(job, this.translation, clean));
    }
  }
}
