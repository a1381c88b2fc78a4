import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../config/app-config.js';
import type { RejectReason, ShareOutcome } from '../../accounting/accounting.service.js';
import type { Channel, ChannelJob, ChannelMember, ChannelVerdict } from '../../upstream/channel.js';
import type { User } from '../../users/user.entity.js';
import { classifyPoolReject, StratumError, StratumErrorCode } from '../../protocol/errors.js';
import { fitsPool, poolExtranonce2 } from '../../protocol/extranonce.js';
import { difficultyToTarget } from '../../protocol/difficulty.js';
import { ntimeOutOfRange } from '../../protocol/ntime.js';
import { encodeNotification, RpcId } from '../../protocol/json-rpc.js';
import { buildHeader, hashMeetsTarget, targetBytes } from '../../protocol/share-hash.js';
import { SHARE_HASHERS, UNKNOWN_ALGORITHM } from '../../pools/algorithms/share-hashers.js';
import type { ShareHasher } from '../../pools/algorithms/share-hasher.js';
import { AuthorizeRequest, ConfigureRequest, decodeSubmit, decodeVersionMask, maskHex } from '../../protocol/miner-messages.js';
import type { CloseReason, StratumConnection } from '../transport/stratum-connection.js';
import { Vardiff } from './vardiff.js';
import { PoolJudgement, Probation, PROBATION_ACCEPTED, PROBATION_AWAITING } from './probation.js';
import { publicSessionTag } from './session-tag.js';

export type SessionState = 'connected' | 'subscribed' | 'authorized' | 'lingering' | 'closed';

/** What a session needs from the rest of the proxy. */
export interface SessionHost {
  readonly config: AppConfig;
  resolveUser(name: string): Promise<User | null>;
  /** The user's channel depends on the miner's rig (an SV2 pool with `rig` worker names: a channel per rig). */
  rigSetsChannel?(user: User): boolean;
  /** Seats the session on a channel of the user's pool accounts. */
  attachChannel(session: MinerSession, user: User): Channel;
  /** The extranonce2 size a new miner is told at subscribe (before its pool is known). */
  minerExtranonce2Size(): number;
  detachChannel(session: MinerSession, channel: Channel): void;
  /** The session ended for good (closed, linger expired, pool gave up). */
  sessionEnded(session: MinerSession): void;
  /** Accounting: the worker is authorized on its (current) connection, or left it. */
  workerConnected(session: MinerSession): void;
  workerDisconnected(session: MinerSession): void;
  workerDifficulty(session: MinerSession, difficulty: number): void;
  /** A share valid at the miner's own difficulty (validated sessions only). */
  shareValid(session: MinerSession, difficulty: number): void;
  shareForwarded(session: MinerSession, difficulty: number): void;
  shareAnswered(session: MinerSession, difficulty: number, outcome: ShareOutcome, roundTripSeconds?: number): void;
  /** A share met its job's block target. */
  blockFound(session: MinerSession, hash: Buffer): void;
  /** An accepted share of a pool whose algorithm is not known yet: evidence for detection. */
  detectAlgorithm(session: MinerSession, header: Buffer, difficulty: number): void;
  /** Routing: the session's channel works (up), or none of its accounts does (down). */
  channelState?(session: MinerSession, channel: Channel, up: boolean): void;
}

/** A difficulty the miner was told, and the first channel job it applies to (set_difficulty applies from the next notify). */
interface DifficultyStep {
  readonly fromSeq: number;
  readonly difficulty: number;
}

/** Local rejections that say the miner sent something wrong (stale and pool_down are not its fault). */
const INVALID_SHARE_REASONS: ReadonlySet<RejectReason> = new Set([
  'malformed',
  'unknown_job',
  'version_mask',
  'local_low_difficulty',
  'local_duplicate',
  'local_invalid_ntime',
] as RejectReason[]);
/**
 * Pool rejections that are the miner's doing, counted like local ones: not a job change (job_not_found),
 * an outage or a timeout. A pool refusing the account itself (codes 24, 25) is not the miner's doing either.
 */
const MINER_FAULT_POOL_REJECTS: ReadonlySet<RejectReason> = new Set([
  'low_difficulty',
  'duplicate',
  'invalid_ntime',
  'other',
] as RejectReason[]);
const ACCOUNT_ERROR_CODES: ReadonlySet<number> = new Set([StratumErrorCode.UnauthorizedWorker, StratumErrorCode.NotSubscribed]);
/** The answer to a share while no account of the miner's name has a working pool connection. */
const POOL_DOWN = 'pool down: no working pool connection for this name, the share cannot be forwarded';
/** Difficulty steps kept: shares of jobs older than these are long stale. */
const MAX_DIFFICULTY_STEPS = 4;
/** Shares remembered per job for duplicates (the pool catches older duplicates). */
const MAX_SHARES_PER_JOB = 4096;
/** Of those, at most this many from one session. */
const MAX_SHARES_PER_SESSION_JOB = 1024;
/** How long a session that never sent a share is kept for resumption (at most --stratum.sessionLinger). */
const SHARELESS_LINGER_MS = 5000;
/** The answer to a share once its job's duplicate set is full: refused, never let through unchecked. */
const JOB_FULL = 'stale job: too many shares for this job, take the newer job';
/** The answer to a share of a miner on probation with as many shares awaiting the pool's verdict as it may have. */
const AWAITING_VERDICTS =
  `share not forwarded: the proxy cannot check this algorithm, so until the pool has accepted ${PROBATION_ACCEPTED} of ` +
  `a miner's shares at most ${PROBATION_AWAITING} may await its verdict at once; send it when the pool has answered`;

/**
 * One miner: its Stratum state machine, its extranonce slot (prefix P, extranonce2 size m), its own
 * difficulty, and the channel (pool connection of its account) it sits on. Outlives its TCP connection for
 * the linger time, so a miner that reconnects with its session id resumes with the same P, channel,
 * difficulty and job.
 */
export class MinerSession implements ChannelMember {
  private readonly logger = new Logger(MinerSession.name);
  state: SessionState = 'connected';
  connection: StratumConnection | null;
  user: User | null = null;
  rig: string | null = null;
  /** The user agent the miner subscribed with (null: none): a channel whose miners all agree subscribes with it. */
  userAgent: string | null = null;
  extranonce2Size: number;
  /** The version-rolling mask agreed with the miner (null: not negotiated). */
  versionMask: number | null = null;
  /** The mask the miner was last told (configure answer or set_version_mask). */
  private announcedVersionMask: number | null = null;
  extranonceSubscribed = false;
  suggestedDifficulty: number | null = null;
  channel: Channel | null = null;
  /** The difficulty the miner was last told (its own: at most the pool's). */
  difficulty: number | null = null;
  private steps: DifficultyStep[] = [];
  /** Shares this session had remembered per channel job (the last few jobs); made at the first share. */
  private rememberedPerJob: Map<number, number> | null = null;
  private vardiff: Vardiff | null = null;
  /** Where the proxy cannot check the shares: trust earned from the pool's verdicts (made at the first share). */
  private probation: Probation | null = null;
  private cachedTarget: { difficulty: number; bytes: Buffer } | null = null;
  private forceCleanNext = true;
  private lingerTimer: NodeJS.Timeout | null = null;
  /** Running while no account of the miner's name works: the miner is closed if none returns in time. */
  private outageTimer: NodeJS.Timeout | null = null;
  /** Authorize waiting for the channel: null once it works, else why none of its accounts does. */
  private channelWaiter: ((failure: string | null) => void) | null = null;
  /** The account (index) whose pool the worker is accounted under. */
  private accountIndex = 0;
  connectedSince = Date.now();
  private cachedTag: string | null = null;
  /** It sent a share (authorized): only then is it kept for the whole linger time. */
  private submitted = false;

  constructor(
    readonly id: string,
    /** The proxy's own extranonce1 for this miner (hex), unique on its channel. */
    readonly prefix: string,
    connection: StratumConnection,
    private readonly host: SessionHost,
  ) {
    this.connection = connection;
    this.extranonce2Size = host.minerExtranonce2Size();
  }

  /** The session as logs and the API name it: never the id itself, which is the key to resume it. */
  get tag(): string {
    return (this.cachedTag ??= publicSessionTag(this.id));
  }

  get label(): string {
    const who = this.user ? ` user ${this.user.name}${this.rig ? `.${this.rig}` : ''}` : '';
    return `session ${this.tag} (${this.connection?.address ?? 'disconnected'}${who})`;
  }

  get prefixBytes(): number {
    return this.prefix.length / 2;
  }

  /** The account the session mines for now: its index (0: the primary), pool and login. */
  get account(): { readonly index: number; readonly pool: string; readonly user: string } | null {
    const channel = this.channel;
    return channel ? { index: channel.active, pool: channel.poolAddress, user: channel.account.user } : null;
  }

  /** The proxy checks this session's shares itself: a known algorithm and --shares.validate. */
  get validated(): boolean {
    return this.hasher !== undefined;
  }

  private get hasher(): ShareHasher | undefined {
    return this.host.config.shares.validate && this.user ? SHARE_HASHERS.get(this.user.pool.algorithm.name) : undefined;
  }

  /** The miner gets a difficulty of its own (below the pool's) only where the proxy validates its shares. */
  private get ownDifficulty(): boolean {
    return this.validated && this.host.config.vardiff.shareIntervalMs > 0;
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

  /** BIP310: answered at once; the channel asks the pool for the proxy's mask when it connects. */
  configure(request: ConfigureRequest): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    for (const extension of request.extensions) {
      switch (extension) {
        case 'version-rolling': {
          const mask = (decodeVersionMask(request.parameters['version-rolling.mask']) & this.host.config.stratum.versionMask) >>> 0;
          const poolMask = this.channel?.versionMask ?? null;
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
          // The pool's difficulty caps the miner's: the proxy cannot promise a floor.
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
      if (connection.firstTime('authorize-unknown-name'))
        this.logger.warn(`${this.label}: authorize as ${JSON.stringify(request.login.slice(0, 64))} refused: unknown name`);
      connection.replyResult(requestId, false);
      return;
    }
    const rigChanged = this.rig !== request.rig;
    // Another rig of a name whose rigs have channels of their own is another channel: seated again below.
    const sameChannel = !rigChanged || !this.host.rigSetsChannel?.(user);
    if (this.user?.name === user.name && this.channel && !this.channel.closed && sameChannel) {
      // Same name again (typically after a resume): nothing moves, the miner gets its work again.
      this.rig = request.rig;
      if (rigChanged) this.channel.rigChanged(this);
      this.state = 'authorized';
      this.host.workerConnected(this);
      connection.replyResult(requestId, true);
      this.sendWork();
      if (!this.channel.isReady) this.startOutage();
      return;
    }
    if (this.channel) {
      if (connection.firstTime('authorize-move')) this.logger.log(`${this.label}: moving to user ${user.name} (pool ${user.pool.address})`);
      this.leaveChannel();
    }
    this.user = user;
    this.rig = request.rig;
    const channel = this.seat(user);
    let failure: string | null = null;
    if (channel.isReady) {
      this.fitChannel(channel);
    } else {
      // `true` only once an account works: the channel tells when one does, or that none can be reached
      // (each account gets the connect timeout); the miner hears the reason rather than waiting for work.
      const waitMs = this.host.config.upstream.connectTimeoutMs * ((user.backups?.length ?? 0) + 1) + 500;
      let timer: NodeJS.Timeout | null = null;
      failure = await new Promise<string | null>((resolve) => {
        this.channelWaiter = resolve;
        timer = setTimeout(() => resolve(channel.failure ?? `pool unreachable: ${channel.poolAddress} (no answer in time)`), waitMs);
      });
      if (timer) clearTimeout(timer);
      this.channelWaiter = null;
    }
    if (this.connection !== connection || !connection.isOpen || this.state === 'closed') return;
    if (failure !== null) {
      if (connection.firstTime('authorize-refused')) this.logger.warn(`${this.label}: authorize refused: ${failure}`);
      this.leaveChannel();
      this.user = null;
      this.rig = null;
      connection.replyError(requestId, [StratumErrorCode.UnauthorizedWorker, failure, null]);
      return;
    }
    // Routing may have moved the session to another route's channel while it waited.
    const seated = this.channel ?? channel;
    this.accountIndex = seated.active;
    this.state = 'authorized';
    this.logger.log(`${this.label}: authorized for pool ${user.pool.address} on channel ${seated.id}`);
    this.host.workerConnected(this);
    connection.replyResult(requestId, true);
    this.sendWork();
  }

  /**
   * Checks a share (fields, job, version bits; with a validated algorithm also the hash at the miner's own
   * difficulty and duplicates), forwards it when it meets the pool's difficulty, and answers the miner: at
   * once when its difficulty is its own, else with the pool's verdict.
   */
  async submit(requestId: RpcId, params: unknown): Promise<StratumError | undefined> {
    if (this.state === 'subscribed' || this.state === 'connected')
      return new StratumError(StratumErrorCode.UnauthorizedWorker, 'unauthorized worker');
    this.submitted = true;
    const rejectLocally = (reason: RejectReason, error: StratumError, difficulty = this.difficulty ?? 1) => {
      this.host.shareAnswered(this, difficulty, { accepted: false, reason });
      if (INVALID_SHARE_REASONS.has(reason)) this.connection?.shareJudged(false);
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
    const channel = this.channel;
    // With no working pool connection nothing can be forwarded: the miner hears so, not "stale".
    if (!channel?.isReady) return rejectLocally('pool_down', new StratumError(StratumErrorCode.Other, POOL_DOWN));
    const job = channel.job(share.jobId);
    // A job issued under a pool extranonce this miner's extranonce2 no longer fits is as good as gone.
    const slot = channel.slotOf(this);
    const translation = job?.translationFor(this.extranonce2Size, slot);
    if (!job || !translation) {
      const stale = !!job || channel.isStale(share.jobId);
      return rejectLocally(
        stale ? 'stale' : 'unknown_job',
        new StratumError(StratumErrorCode.JobNotFound, stale ? 'stale job' : 'job not found'),
      );
    }
    const ntimeError = ntimeOutOfRange(share.ntime, job.job.ntime, (Date.now() - job.receivedAt) / 1000);
    if (ntimeError) return rejectLocally('local_invalid_ntime', new StratumError(StratumErrorCode.Other, ntimeError));
    const hasher = this.hasher;
    const probation = hasher ? null : (this.probation ??= new Probation());
    if (probation && !probation.mayForward) {
      if (this.connection?.firstTime('probation-awaiting'))
        this.logger.warn(
          `${this.label}: on probation with ${probation.awaitingVerdicts} shares awaiting the pool's verdict: answering further ones locally`,
        );
      return rejectLocally('local_probation', new StratumError(StratumErrorCode.Other, AWAITING_VERDICTS));
    }
    const poolDifficulty = job.poolDifficulty ?? 1;
    // What follows the pool's extranonce1 (and the slot byte) in the coinbase: P + e2 + Z.
    const coinbaseExtranonce2 = poolExtranonce2(this.prefix, share.extranonce2, translation);
    const algorithm = this.user!.pool.algorithm;
    const unknownAlgorithm = algorithm.name === UNKNOWN_ALGORITHM;
    let header: Buffer | null = null;
    if (hasher || unknownAlgorithm) {
      header = buildHeader(job.job, {
        extranonce1: translation.poolExtranonce1,
        extranonce2: coinbaseExtranonce2,
        ntime: share.ntime,
        nonce: share.nonce,
        versionBits: share.versionBits,
        versionMask: share.versionBits === undefined ? undefined : (this.versionMask ?? undefined),
      });
    }
    const key = `${slot}${this.prefix}:${share.extranonce2}:${share.ntime}:${share.nonce}:${share.versionBits ?? ''}`;
    // The difficulty the share is credited with: the miner's for its job (the pool's when not validated).
    let difficulty = poolDifficulty;
    let meetsPool = true;
    let refused: ReturnType<MinerSession['remember']>;
    if (hasher && header) {
      const hash = hasher.hashSync ? hasher.hashSync(header) : await hasher.hash(header);
      if (this.channel !== channel) return rejectLocally('stale', new StratumError(StratumErrorCode.JobNotFound, 'stale job'));
      const jobDifficulty = this.difficultyFor(job);
      // A miner may switch difficulty a job early or late: the share meets the job's, or else the current one.
      const current = this.difficulty ?? jobDifficulty;
      if (hashMeetsTarget(hash, this.shareTarget(jobDifficulty / algorithm.divider))) difficulty = jobDifficulty;
      else if (current < jobDifficulty && hashMeetsTarget(hash, this.shareTarget(current / algorithm.divider))) difficulty = current;
      else
        return rejectLocally(
          'local_low_difficulty',
          new StratumError(StratumErrorCode.LowDifficultyShare, 'low difficulty share'),
          jobDifficulty,
        );
      // Remembered only once it passed the hash check, so junk cannot fill the duplicate set.
      const refused = this.remember(job, key);
      if (refused) return rejectLocally(refused.reason, refused.error, difficulty);
      this.host.shareValid(this, difficulty);
      this.retarget(this.vardiff?.onShare(Date.now(), this.difficultyCap(), difficulty) ?? null);
      if (hashMeetsTarget(hash, job.blockTarget)) this.host.blockFound(this, hash);
      meetsPool = difficulty >= poolDifficulty || hashMeetsTarget(hash, job.poolTarget(algorithm.divider));
      // Judged now when the pool never sees it; else once, by the pool's verdict.
      if (!meetsPool) this.connection?.shareJudged(true);
    } else if (this.host.config.shares.validate && (refused = this.remember(job, key))) {
      return rejectLocally(refused.reason, refused.error, difficulty);
    }
    const connection = this.connection;
    // Below its own difficulty the pool is not involved: the miner's share was good, and it hears so now.
    const answerNow = difficulty < poolDifficulty;
    if (!meetsPool) {
      if (requestId !== null) connection?.replyResult(requestId, true);
      return undefined;
    }
    if (!channel.isReady) return rejectLocally('pool_down', new StratumError(StratumErrorCode.Other, POOL_DOWN), difficulty);
    const sentAt = performance.now();
    this.host.shareForwarded(this, poolDifficulty);
    probation?.forwarded();
    if (answerNow && requestId !== null) connection?.replyResult(requestId, true);
    void channel.submit(job, slot + coinbaseExtranonce2, share.ntime, share.nonce, share.versionBits, this).then((verdict) => {
      const roundTrip = (performance.now() - sentAt) / 1000;
      if (verdict.accepted) {
        this.host.shareAnswered(this, poolDifficulty, { accepted: true }, roundTrip);
        if (unknownAlgorithm && header) this.host.detectAlgorithm(this, header, poolDifficulty);
      } else {
        const reason = poolRejectReason(verdict);
        // The channel still had the job: the pool keeps fewer jobs than the channel does.
        if (reason === 'job_not_found') channel.poolForgot(job);
        this.host.shareAnswered(this, poolDifficulty, { accepted: false, reason }, roundTrip);
      }
      if (!answerNow && connection?.isOpen && requestId !== null) {
        if (verdict.accepted) connection.replyResult(requestId, true);
        else connection.replyError(requestId, verdict.error.toTuple());
      }
      // After the answer: the miner hears the verdict that closes it.
      this.judgedByPool(connection, probation, poolJudgement(verdict));
    });
    // Built only when debug logging is on: the label and the line were 0.5 KB of garbage per share.
    if (Logger.isLevelEnabled('debug')) this.logger.debug(`${this.label}: share job ${share.jobId} nonce ${share.nonce} forwarded`);
    return undefined;
  }

  /**
   * The pool's verdict on a share counts for the connection that sent it (its invalid-share ratio) and, on
   * a session the proxy cannot validate, for its probation: too many rejects close the miner before the
   * pool would ban the connection it shares.
   */
  private judgedByPool(connection: StratumConnection | null, probation: Probation | null, judgement: PoolJudgement): void {
    if (judgement !== 'not_judged') connection?.shareJudged(judgement === 'accepted');
    const closing = probation?.verdict(judgement);
    if (!closing || this.state === 'closed') return;
    this.logger.warn(`${this.label}: ${closing}: closing it before the pool bans the connection it shares`);
    // Ended, not left to linger: a resume would bring the same miner back with the same standing.
    this.end('pool-rejects');
  }

  /**
   * Remembers a share for duplicate checks: null when new, else the local answer. The sets are bounded and
   * refuse when full (answered stale: the miner takes the next job) rather than forget, so a duplicate never
   * slips through to the shared connection. A session fills at most MAX_SHARES_PER_SESSION_JOB of a job's
   * set, so one miner cannot fill the others' share of it.
   */
  private remember(job: ChannelJob, key: string): { reason: RejectReason; error: StratumError } | null {
    const remembered = (this.rememberedPerJob ??= new Map());
    const count = remembered.get(job.seq) ?? 0;
    // A limit of 0 once the session's part is full: duplicates are still told apart, nothing new is added.
    const verdict = job.remember(key, count >= MAX_SHARES_PER_SESSION_JOB ? 0 : MAX_SHARES_PER_JOB);
    if (verdict === 'seen')
      return { reason: 'local_duplicate', error: new StratumError(StratumErrorCode.DuplicateShare, 'duplicate share') };
    if (verdict === 'full') return { reason: 'stale', error: new StratumError(StratumErrorCode.JobNotFound, JOB_FULL) };
    if (!remembered.has(job.seq) && remembered.size >= 4) remembered.delete(remembered.keys().next().value as number);
    remembered.set(job.seq, count + 1);
    return null;
  }

  /** The share target for a difficulty-1-scaled difficulty, cached: miners keep one difficulty for long. */
  private shareTarget(difficulty: number): Buffer {
    if (this.cachedTarget?.difficulty !== difficulty)
      this.cachedTarget = { difficulty, bytes: targetBytes(difficultyToTarget(difficulty)) };
    return this.cachedTarget.bytes;
  }

  /** The difficulty the miner was told for a job: the last step sent before it. */
  private difficultyFor(job: ChannelJob): number {
    let difficulty = this.steps[0]?.difficulty ?? job.poolDifficulty ?? 1;
    for (const step of this.steps) if (step.fromSeq <= job.seq) difficulty = step.difficulty;
    return difficulty;
  }

  suggestDifficulty(difficulty: number): void {
    this.suggestedDifficulty = difficulty;
    this.channel?.suggestDifficulty(difficulty);
    if (!this.vardiff || this.state !== 'authorized') return;
    // Honoured within the bounds (the floor and the pool's difficulty); retargeting goes on from there.
    this.vardiff.reset(this.vardiff.clamp(difficulty, this.difficultyCap()), Date.now());
    this.retarget(this.vardiff.difficulty);
  }

  /** Called now and then by the registry: a miner too slow for its difficulty gets an easier one. */
  tick(now: number): void {
    if (this.vardiff && this.state === 'authorized') this.retarget(this.vardiff.onTick(now, this.difficultyCap()));
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
      const poolMask = this.channel?.versionMask ?? null;
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
    // A session that never sent a share has nothing worth keeping: it lingers briefly, so that many short
    // connections cannot hold memory for the whole linger time.
    const lingerMs = this.submitted
      ? this.host.config.stratum.sessionLingerMs
      : Math.min(this.host.config.stratum.sessionLingerMs, SHARELESS_LINGER_MS);
    this.lingerTimer = setTimeout(() => {
      this.logger.log(`${this.label}: not resumed within ${lingerMs} ms: closed`);
      this.end();
    }, lingerMs);
  }

  /** Ends the session for good: closes the miner's connection and leaves the channel. */
  end(reason?: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.endOutage();
    this.channelWaiter?.('session closed');
    this.leaveChannel();
    const connection = this.connection;
    this.connection = null;
    if (connection && reason) connection.close(reason);
    this.host.sessionEnded(this);
  }

  /** Takes a seat on a channel of the user's accounts with a fresh start: difficulty, jobs and trust are per pool. */
  private seat(user: User): Channel {
    this.probation = null; // trust is earned with a pool, not carried to another
    this.difficulty = null;
    this.steps = [];
    this.vardiff = null;
    this.forceCleanNext = true;
    const channel = this.host.attachChannel(this, user);
    this.channel = channel;
    if (this.suggestedDifficulty !== null) channel.suggestDifficulty(this.suggestedDifficulty);
    return channel;
  }

  /**
   * Routing moved the session to another route of its name: it leaves its channel and joins one of the new
   * route's accounts, kept connected; the new pool's difficulty and a clean job follow (shares of old jobs
   * are answered stale, as after authorize), and an extranonce2 that does not fit is handled as there.
   */
  moveChannel(): void {
    const user = this.user;
    const authorizing = this.channelWaiter !== null;
    if ((this.state !== 'authorized' && !authorizing) || !user || !this.connection) return;
    this.leaveChannel();
    const channel = this.seat(user);
    // Still authorizing (its first route was found down meanwhile): the answer waits for the new channel.
    if (authorizing) return channel.isReady ? this.channelWaiter?.(null) : undefined;
    if (!channel.isReady) return this.startOutage(); // channelReady and the first job follow
    this.endOutage();
    this.fitChannel(channel);
    if (this.state !== 'authorized' || !this.connection?.isOpen) return;
    this.accountIndex = channel.active;
    this.host.workerConnected(this);
    this.sendWork();
  }

  private leaveChannel(): void {
    if (this.channel) this.host.detachChannel(this, this.channel);
    this.channel = null;
  }

  // ---- ChannelMember: what the channel (pool connection) tells the session ----

  channelReady(channel: Channel): void {
    if (channel !== this.channel) return;
    this.forceCleanNext = true;
    this.endOutage();
    this.fitChannel(channel);
    this.channelWaiter?.(null);
    this.host.channelState?.(this, channel, true);
    if (this.state === 'authorized' && channel.active !== this.accountIndex) {
      // Failed over (or back): the worker's series follow it to the pool it mines on now.
      this.accountIndex = channel.active;
      this.host.workerConnected(this);
    }
  }

  channelJob(job: ChannelJob, channel: Channel): void {
    if (channel !== this.channel || this.state !== 'authorized' || !this.connection) return;
    // A pool difficulty that arrived before the job caps the miner's from this job on.
    this.retarget(this.targetDifficulty());
    this.sendJob(job, job.job.cleanJobs || this.forceCleanNext);
  }

  channelDifficulty(_difficulty: number, channel: Channel): void {
    if (channel !== this.channel || this.state !== 'authorized') return;
    this.retarget(this.targetDifficulty());
  }

  channelVersionMask(mask: number, channel: Channel): void {
    if (channel === this.channel) this.applyPoolVersionMask(mask);
  }

  channelDown(_wasReady: boolean, channel: Channel): void {
    if (channel !== this.channel) return;
    this.forceCleanNext = true;
    this.startOutage();
    // A channel of one account has nothing to fail over to: its route is down until it reconnects.
    if (channel.accounts.length === 1) this.host.channelState?.(this, channel, false);
  }

  channelUnavailable(detail: string, channel: Channel): void {
    if (channel !== this.channel) return;
    // Routing first: a name with other routes that work moves the miner there (authorizing or not).
    this.host.channelState?.(this, channel, false);
    if (channel !== this.channel) return;
    this.channelWaiter?.(detail);
    this.startOutage();
  }

  channelClosed(detail: string, channel: Channel): void {
    if (channel !== this.channel) return;
    this.channel = null;
    if (this.channelWaiter) return this.channelWaiter(detail); // still authorizing: that is the answer
    this.logger.warn(`${this.label}: ${detail}: disconnecting the miner`);
    this.end('pool-refused');
  }

  /**
   * No account of the name works: the miner stays connected (it gets work the moment one returns) for the
   * linger time, then is closed so that it can try elsewhere.
   */
  private startOutage(): void {
    if (this.outageTimer || this.state !== 'authorized') return;
    const lingerMs = this.host.config.stratum.sessionLingerMs;
    this.outageTimer = setTimeout(() => {
      this.outageTimer = null;
      if (this.channel?.isReady || this.state === 'closed') return;
      this.logger.warn(`${this.label}: no pool account of ${this.user?.name} worked for ${lingerMs} ms: disconnecting the miner`);
      this.end('pool-unreachable');
    }, lingerMs);
  }

  private endOutage(): void {
    if (this.outageTimer) clearTimeout(this.outageTimer);
    this.outageTimer = null;
  }

  // ---- difficulty ----

  /** The pool's difficulty on the channel (1 until it sets one), at least the vardiff minimum: the miner's is never above it. */
  private difficultyCap(): number {
    return Math.max(this.channel?.difficulty ?? 1, this.host.config.vardiff.minDifficulty);
  }

  /** The difficulty the miner should have now: its own (vardiff) under the pool's cap, or the pool's. */
  private targetDifficulty(): number | null {
    const cap = this.channel?.difficulty ?? null;
    if (!this.ownDifficulty) return cap;
    // A pool difficulty below the vardiff minimum (a hostile pool's 1e-300, or a misconfigured one) is not
    // passed on: the miner stays at the minimum, and its shares, which then beat the pool's target, all go up.
    const bound = Math.max(cap ?? 1, this.host.config.vardiff.minDifficulty);
    if (!this.vardiff) {
      const vardiff = new Vardiff(this.host.config.vardiff, 0, Date.now());
      vardiff.reset(vardiff.clamp(this.suggestedDifficulty ?? bound, bound), Date.now());
      this.vardiff = vardiff;
    } else if (this.vardiff.difficulty > bound) {
      this.vardiff.reset(bound, Date.now());
    }
    return this.vardiff.difficulty;
  }

  /** Tells the miner a new difficulty (it applies from the next job it gets). */
  private retarget(difficulty: number | null): void {
    if (difficulty === null || difficulty === this.difficulty) return;
    const fromSeq = (this.channel?.current?.seq ?? 0) + 1;
    this.setDifficulty(difficulty, fromSeq);
  }

  private setDifficulty(difficulty: number, fromSeq: number): void {
    this.difficulty = difficulty;
    // Only the last difficulty before a job counts for it: retargets between two jobs replace each other.
    if (this.steps.at(-1)?.fromSeq === fromSeq) this.steps.pop();
    this.steps.push({ fromSeq, difficulty });
    if (this.steps.length > MAX_DIFFICULTY_STEPS) this.steps.shift();
    this.host.workerDifficulty(this, difficulty);
    this.connection?.write(this.channel?.difficultyLine(difficulty) ?? encodeNotification('mining.set_difficulty', [difficulty]));
  }

  // ---- extranonce and version mask ----

  /** Fits the miner's extranonce2 inside the channel's pool extranonce2; tells or recycles the miner if it must shrink. */
  private fitChannel(channel: Channel): void {
    const n = channel.extranonce2Room;
    if (n === null) return;
    if (fitsPool(n, this.prefixBytes, this.extranonce2Size)) return;
    const fitted = n - this.prefixBytes;
    if (fitted < 1) {
      this.logger.warn(`${this.label}: pool extranonce2 size ${n} leaves no room for the proxy's prefix: disconnecting`);
      this.end('pool-refused');
      return;
    }
    const told = this.extranonce2Size;
    this.extranonce2Size = fitted;
    if (!this.connection) return; // lingering: the resumed subscribe answers with the size that fits
    if (this.extranonceSubscribed) {
      this.logger.log(
        `${this.label}: pool extranonce2 size ${n} is too small for ${told}: sending mining.set_extranonce with size ${fitted}`,
      );
      this.connection.write(encodeNotification('mining.set_extranonce', [this.prefix, fitted]));
      this.forceCleanNext = true;
      return;
    }
    // The miner cannot be told: it reconnects with its session id and gets sizes that fit.
    this.logger.log(`${this.label}: pool extranonce2 size ${n} is too small for ${told}: closing so the miner resumes with size ${fitted}`);
    this.connection.close('reconnect-required');
  }

  /** On resume, a pool whose extranonce2 is too small for m gives the miner the size that fits. */
  private fitExtranonce2Size(): void {
    const room = this.channel?.extranonce2Room ?? null;
    if (room === null) return;
    const fitted = Math.min(this.host.config.stratum.extranonce2Size, room - this.prefixBytes);
    if (fitted >= 1) this.extranonce2Size = fitted;
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

  // ---- work ----

  private sendJob(job: ChannelJob, clean: boolean): void {
    if (!this.connection || !this.channel) return;
    const line = job.notifyLine(this.extranonce2Size, this.channel.slotOf(this), clean);
    if (!line) return;
    this.forceCleanNext = false;
    this.connection.write(line);
  }

  /** Sends the difficulty and the channel's current job (clean) after authorize or resume. */
  private sendWork(): void {
    if (!this.connection) return;
    this.applyPoolVersionMask(this.channel?.versionMask ?? null);
    this.announceVersionMask();
    const difficulty = this.targetDifficulty() ?? this.difficulty;
    // A fresh connection: the difficulty it is told now applies to every job it gets.
    this.steps = [];
    if (difficulty !== null) this.setDifficulty(difficulty, 0);
    const job = this.channel?.current;
    if (job) this.sendJob(job, true);
  }
}

/** What a rejection is counted as: the pool's reason, or the proxy's when no pool judged the share. */
function poolRejectReason(verdict: Exclude<ChannelVerdict, { accepted: true }>): RejectReason {
  if ('poolDown' in verdict) return 'pool_down';
  return verdict.timedOut ? 'timeout' : classifyPoolReject(verdict.error);
}

function poolJudgement(verdict: ChannelVerdict): PoolJudgement {
  if (verdict.accepted) return 'accepted';
  if (ACCOUNT_ERROR_CODES.has(verdict.error.code)) return 'not_judged';
  return MINER_FAULT_POOL_REJECTS.has(poolRejectReason(verdict)) ? 'miner_fault' : 'not_judged';
}
