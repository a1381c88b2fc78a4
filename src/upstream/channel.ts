import { Logger } from '@nestjs/common';
import { difficultyToTarget, nbitsToTarget } from '../protocol/difficulty.js';
import { ExtranonceTranslation, fitsPool, minerNotifyLine, translation } from '../protocol/extranonce.js';
import type { StratumError } from '../protocol/errors.js';
import { encodeNotification } from '../protocol/json-rpc.js';
import { targetBytes } from '../protocol/share-hash.js';
import type { PoolExtranonce, PoolJob } from '../protocol/pool-messages.js';
import type { FanOut } from './fan-out.js';
import type { PoolAccount, PoolConnectionListener, ShareVerdict } from './pool-connection.js';
import type { UpstreamConnection } from './upstream-connection.js';
import { ChannelWorkers, workerName, type ChannelWorker, type WorkerNames } from './worker-names.js';

/** The channel's pool connection, whichever protocol its account speaks (SV1 or SV2): the seam of design.md. */
type PoolConnection = UpstreamConnection;

/**
 * A cache almost always asked for one key (one extranonce2 size and slot on a channel): that one lives in
 * two fields and a Map is made only past it. Channels keep 16 jobs each, and with one channel per miner
 * (--upstream.aggregation 1) two Maps per job were most of the memory a miner cost.
 */
class FewKeys<V> {
  private firstKey: string | null = null;
  private firstValue: V | undefined;
  private more: Map<string, V> | null = null;

  get(key: string): V | undefined {
    return key === this.firstKey ? this.firstValue : this.more?.get(key);
  }

  set(key: string, value: V): void {
    if (this.firstKey === null) {
      this.firstKey = key;
      this.firstValue = value;
    } else {
      (this.more ??= new Map()).set(key, value);
    }
  }
}

/**
 * A job as a channel relays it: the pool's job with what was in force when it arrived. Every session on
 * the channel mines the same job; only its prefix P (told at subscribe) makes its coinbase its own.
 */
export class ChannelJob {
  /** Shares already seen for this job (prefix, extranonce2, ntime, nonce, version bits), for duplicates. */
  private seen: Set<string> | null = null;
  private readonly lines = new FewKeys<Buffer>();
  private readonly translations = new FewKeys<ExtranonceTranslation | null>();
  /** When the job arrived (ms): the pool's clock is its ntime plus the time since. */
  readonly receivedAt = Date.now();
  /** The job's block target and its pool target (per divider), as bytes: worked out once, not per share. */
  private blockTargetBytes: Buffer | null = null;
  private poolTargetBytes: { divider: number; bytes: Buffer } | null = null;

  constructor(
    readonly job: PoolJob,
    /** The job id the miners see: the pool's, behind the account's epoch once the channel has switched accounts. */
    readonly minerJobId: string,
    /** Channel-wide job number: a session's difficulty history is keyed by it. */
    readonly seq: number,
    /** The pool extranonce this job was issued under. */
    readonly extranonce: PoolExtranonce,
    /** The pool's difficulty for shares of this job (it applies from the job after set_difficulty); null: never set. */
    readonly poolDifficulty: number | null,
    private readonly prefixBytes: number,
  ) {}

  /** The target nbits encodes (a share under it is a block), as 32 big-endian bytes. */
  get blockTarget(): Buffer {
    return (this.blockTargetBytes ??= targetBytes(nbitsToTarget(this.job.nbits)));
  }

  /** The pool's difficulty for this job (1 if never set) as a target for an algorithm's divider. */
  poolTarget(divider: number): Buffer {
    if (this.poolTargetBytes?.divider !== divider)
      this.poolTargetBytes = { divider, bytes: targetBytes(difficultyToTarget((this.poolDifficulty ?? 1) / divider)) };
    return this.poolTargetBytes.bytes;
  }

  /**
   * The rewriting for miners with this extranonce2 size in this slot (the channel-local byte in front of
   * their prefix, '' where the channel has none): the slot goes with the pool's extranonce1 into coinb1.
   * Null when their share cannot fit this job's pool extranonce2.
   */
  translationFor(minerExtranonce2Size: number, slot: string): ExtranonceTranslation | null {
    const key = `${minerExtranonce2Size}:${slot}`;
    let t = this.translations.get(key);
    if (t === undefined) {
      const { extranonce1, extranonce2Size } = this.extranonce;
      const room = extranonce2Size - slot.length / 2;
      t = fitsPool(room, this.prefixBytes, minerExtranonce2Size)
        ? translation(extranonce1 + slot, room, this.prefixBytes, minerExtranonce2Size)
        : null;
      this.translations.set(key, t);
    }
    return t;
  }

  /**
   * The miners' mining.notify line, encoded once per channel for each extranonce2 size, slot and clean
   * flag, as bytes: the same buffer is written to every socket.
   */
  notifyLine(minerExtranonce2Size: number, slot: string, clean: boolean): Buffer | null {
    const key = `${minerExtranonce2Size}:${slot}:${clean}`;
    let line = this.lines.get(key);
    if (line === undefined) {
      const t = this.translationFor(minerExtranonce2Size, slot);
      if (!t) return null;
      line = Buffer.from(minerNotifyLine(this.job, t, clean, this.minerJobId));
      this.lines.set(key, line);
    }
    return line;
  }

  /**
   * Remembers a share that passed every check: 'seen' when it was seen before, 'full' when the job's set
   * holds `limit` shares already. Full refuses rather than forgets: an evicted key would let its duplicate
   * through to the shared pool connection.
   */
  remember(key: string, limit: number): 'new' | 'seen' | 'full' {
    const seen = (this.seen ??= new Set());
    if (seen.has(key)) return 'seen';
    if (seen.size >= limit) return 'full';
    seen.add(key);
    return 'new';
  }
}

/** A share's verdict as the channel reports it: the pool's, or `poolDown` when no pool gave one. */
export type ChannelVerdict = ShareVerdict | { readonly accepted: false; readonly error: StratumError; readonly poolDown: true };

/** What a channel tells the sessions on it. Implemented by the miner-facing side. */
export interface ChannelMember {
  /** The session's own extranonce1 (hex), unique on the channel. */
  readonly prefix: string;
  /** The rig label of the miner's login (`name.rig`), null without one: its worker name where the pool takes rigs. */
  readonly rig?: string | null;
  /** The user agent the miner subscribed with (null: none). */
  readonly userAgent?: string | null;
  /** Connected (or reconnected, failed over, or the pool changed its extranonce): old jobs are void, a clean job follows. */
  channelReady(channel: Channel): void;
  channelJob(job: ChannelJob, channel: Channel): void;
  /** The pool's difficulty changed; it applies from the next job. */
  channelDifficulty(difficulty: number, channel: Channel): void;
  channelVersionMask(mask: number, channel: Channel): void;
  /** The pool connection dropped (wasReady) or an attempt failed; the channel retries. */
  channelDown(wasReady: boolean, channel: Channel): void;
  /** Every account of the channel was tried and none works now (the reasons, one per account); it keeps trying. */
  channelUnavailable(detail: string, channel: Channel): void;
  /** The pool refused the channel's only account: the channel is closed for good. */
  channelClosed(detail: string, channel: Channel): void;
}

/** Why a channel's sessions moved to another account. */
export type FailoverReason = 'unreachable' | 'refused' | 'no_job' | 'flood' | 'failback';

/** What a channel tells the service that owns it (accounting, bookkeeping). Accounts by their index. */
export interface ChannelHost {
  accountUp(channel: Channel, index: number): void;
  /** A working connection of the account ended (wasReady), or an attempt to connect failed; `reason` says why, when known. */
  accountDown(channel: Channel, index: number, wasReady: boolean, reason?: string): void;
  accountRefused(channel: Channel, index: number): void;
  /** The sessions now mine on another account (counted once the new one works). */
  failover(channel: Channel, from: number, to: number, reason: FailoverReason): void;
  channelGone(channel: Channel): void;
  poolProtocolError(channel: Channel, kind: string): void;
}

/** One pool account of a channel, in failover order (the primary first). */
export interface ChannelAccount {
  /** host:port as registered (the `pool` label). */
  readonly address: string;
  readonly account: PoolAccount;
  /** Connect to public addresses only (a pool added by an anonymous registration). */
  readonly publicOnly?: boolean;
}

export interface ChannelOptions {
  /** Most sessions on the channel. */
  readonly capacity: number;
  readonly prefixBytes: number;
  /** The extranonce2 size miners are told by default: a slot byte is used only where it still fits. */
  readonly minerExtranonce2Size: number;
  /**
   * The smallest extranonce2 size known of the channel's pools (null: none known): a slot byte that a backup
   * pool could not carry would cost every miner a set_extranonce or a reconnect at failover.
   */
  readonly smallestPoolExtranonce2?: number | null;
  /**
   * The primary pool's extranonce2 size as last seen (null: not known yet). Known, it decides the slot layout
   * at once, so that miners arriving before the first connection is up (a storm after a restart) share the
   * channel by slot as later ones do, instead of opening channels of their own.
   */
  readonly primaryPoolExtranonce2?: number | null;
  /** An account that sends no job for this long is left (or, alone, reconnected). */
  readonly jobTimeoutMs: number;
  /** A higher account must stay up this long before the sessions go back to it. */
  readonly failbackAfterMs: number;
  /** How the pool of an account (by index) sees the miners, asked at each connection; default `account`. */
  readonly workerNames?: (index: number) => WorkerNames;
}

/** Builds the pool connection of one account, reporting to the listener given. */
export type ConnectAccount = (account: ChannelAccount, listener: PoolConnectionListener, label: string) => PoolConnection;

/**
 * Jobs kept for late submits; older ones are answered as stale. 16 is what pools commonly keep (ckpool,
 * NOMP, miningcore): a share for a job the pool has dropped would only come back `job not found`.
 */
export const DEFAULT_JOB_WINDOW = 16;
/** The fewest jobs a channel keeps however few its pool seems to: a late share for the previous job is common. */
export const MIN_JOB_WINDOW = 2;
/** Job ids replaced by clean jobs, remembered to tell "stale" from "never existed". */
const MAX_STALE_JOB_IDS = 64;
/** Waits between rounds of attempts when every account failed: 1 s doubling to 30 s. */
const FIRST_ROUND_BACKOFF_MS = 1000;
const MAX_ROUND_BACKOFF_MS = 30_000;
/** A refused account is probed for failback again after this long (its credentials may have been fixed). */
const REFUSED_PROBE_DELAY_MS = 30_000;

/** Ignores everything: given to a connection that is being closed, so its last events reach no one. */
const DETACHED: PoolConnectionListener = {
  onReady: () => undefined,
  onAuthorizeFailed: () => undefined,
  onJob: () => undefined,
  onDifficulty: () => undefined,
  onExtranonce: () => undefined,
  onVersionMask: () => undefined,
  onDown: () => undefined,
  onProtocolError: () => undefined,
};

/** A connection to a higher account, kept while the channel runs on a lower one, to see when it is back. */
interface FailbackProbe {
  readonly connection: PoolConnection;
  timer: NodeJS.Timeout | null;
}

/**
 * One pool connection of one account at a time, shared by up to `capacity` sessions, each with its own
 * prefix. Jobs, difficulty, extranonce and version-mask changes and reconnects are handled once here, for
 * every session. The channel has its name's accounts in order: when the active one cannot be connected,
 * refuses the credentials or sends no job, the sessions move to the next; when a higher one has been up
 * for a while (probed on a connection of its own), they go back to it.
 */
export class Channel {
  private readonly logger = new Logger(Channel.name);
  /** Members by slot and prefix (`${slot number}:${prefix}`): one prefix at most once per slot. */
  private readonly members = new Map<string, ChannelMember>();
  private readonly slots = new Map<ChannelMember, number>();
  /**
   * Slot and prefix pairs of miners that left, kept until the next clean job: a miner seated there at once
   * would search the same coinbase as its predecessor and send the pool its duplicates.
   */
  private readonly vacated = new Set<string>();
  /**
   * Bytes of the channel-local slot in front of each miner's prefix: 1 when the pool's extranonce2 has
   * room for it, so that miners whose prefixes collide (chosen at subscribe, before the account was known)
   * still share the channel; 0 when it has not; null until the pool's size is known (slot 0 only).
   */
  private slotBytes: 0 | 1 | null = null;
  private readonly jobs = new Map<string, ChannelJob>();
  private readonly staleJobIds = new Set<string>();
  /** Jobs kept: the default, or fewer once the pool has shown it keeps fewer (until its next connection). */
  private jobWindow = DEFAULT_JOB_WINDOW;
  private windowLogged = false;
  private connect!: ConnectAccount;
  private connection!: PoolConnection;
  /** Index of the account whose connection is the channel's now (connecting or up). */
  private activeIndex = 0;
  /** The account the sessions last had work from, and why it was left (null while it works). */
  private lastReadyIndex: number | null = null;
  private leaving: FailoverReason | null = null;
  /** Accounts tried without success since one last worked; a whole round waits `roundBackoffMs` before the next. */
  private roundFailures = 0;
  private roundBackoffMs = FIRST_ROUND_BACKOFF_MS;
  private switchTimer: NodeJS.Timeout | null = null;
  private jobTimer: NodeJS.Timeout | null = null;
  private readonly probes = new Map<number, FailbackProbe>();
  private probeRetryTimer: NodeJS.Timeout | null = null;
  /** Why each account last failed (null: it worked since), for the miners' authorize answer. */
  private readonly lastErrors: (string | null)[];
  /**
   * Counts connections to accounts: it prefixes the job ids miners see once the channel has switched, since
   * two pools (or one pool restarted) may well both have a job "1" and a share must not reach the wrong one.
   */
  private epoch = 0;
  private seq = 0;
  private lastJob: ChannelJob | null = null;
  /** The next job goes out clean: the previous ones died with a connection or an extranonce. */
  private forceClean = true;
  private idleTimer: NodeJS.Timeout | null = null;
  /** mining.set_difficulty lines by value, encoded once for every miner told the same difficulty. */
  private readonly difficultyLines = new Map<number, Buffer>();
  /** The members' rigs and their worker names on the connection (workerNames `rig`). */
  private readonly workers = new ChannelWorkers<ChannelMember>();
  private workerRefusalLogged = false;
  private workerBoundLogged = false;
  closed = false;
  /** The account whose connection the service counts as up (null: none). */
  countedUp: number | null = null;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly accounts: readonly ChannelAccount[],
    private readonly options: ChannelOptions,
    private readonly host: ChannelHost,
    /** Jobs reach the members in slices, shared by every channel of the process. */
    private readonly fanOut: FanOut,
  ) {
    this.lastErrors = accounts.map(() => null);
    const primary = options.primaryPoolExtranonce2;
    if (primary !== null && primary !== undefined) this.decideSlotBytes(primary);
  }

  get capacity(): number {
    return this.options.capacity;
  }

  /** Index of the account the channel runs on now (0: the primary). */
  get active(): number {
    return this.activeIndex;
  }

  get account(): PoolAccount {
    return this.accounts[this.activeIndex].account;
  }

  /** host:port of the active account's pool (the `pool` label). */
  get poolAddress(): string {
    return this.accounts[this.activeIndex].address;
  }

  get label(): string {
    return `channel ${this.id} (${this.poolAddress} account ${this.account.user})`;
  }

  /** Why the accounts failed lately (for a miner waiting on authorize); null when none has. */
  get failure(): string | null {
    const errors = this.lastErrors.filter((error): error is string => error !== null);
    return errors.length > 0 ? errors.join('; ') : null;
  }

  /** Starts on the primary account; `connect` builds a pool connection for any of the accounts. */
  open(connect: ConnectAccount): void {
    this.connect = connect;
    this.startAccount(0);
  }

  get isReady(): boolean {
    return this.connection.isReady;
  }

  get extranonce(): PoolExtranonce | null {
    return this.connection.isReady ? this.connection.extranonce : null;
  }

  get versionMask(): number | null {
    return this.connection.versionMask;
  }

  /** The pool's current difficulty (null until it sets one). */
  get difficulty(): number | null {
    return this.connection.difficulty;
  }

  get current(): ChannelJob | null {
    return this.lastJob;
  }

  /** Shares forwarded on the channel's connection and not answered yet. */
  get sharesInFlight(): number {
    return this.connection?.sharesInFlight ?? 0;
  }

  get sessionCount(): number {
    return this.members.size;
  }

  /** The pool extranonce2 bytes left for a miner's prefix and extranonce2 (the slot byte taken). */
  get extranonce2Room(): number | null {
    const extranonce = this.extranonce;
    return extranonce ? extranonce.extranonce2Size - (this.slotBytes ?? 0) : null;
  }

  canSeat(prefix: string): boolean {
    if (this.closed || this.members.size >= this.capacity) return false;
    return this.slotBytes === 1 ? this.freeSlot(prefix) !== null : this.isFree(`0:${prefix}`);
  }

  seat(member: ChannelMember): void {
    const slot = this.slotBytes === 1 ? (this.freeSlot(member.prefix) ?? 0) : 0;
    this.members.set(`${slot}:${member.prefix}`, member);
    this.slots.set(member, slot);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.joinWorker(member);
  }

  /** The member's rig changed (authorized again with another label): its shares follow the new worker name. */
  rigChanged(member: ChannelMember): void {
    if (this.slots.has(member)) this.joinWorker(member);
  }

  /**
   * The user agent every member subscribed with, when they all agree (one firmware): the channel subscribes
   * with it at its next connection. Null when they differ, or none sent one.
   */
  get commonUserAgent(): string | null {
    let common: string | null = null;
    for (const member of this.members.values()) {
      const agent = member.userAgent ?? null;
      if (!agent || (common !== null && agent !== common)) return null;
      common = agent;
    }
    return common;
  }

  /** Worker names authorized on the channel's connection now (the account's not counted). */
  get authorizedWorkers(): string[] {
    const names: string[] = [];
    for (const worker of this.workers.all()) if (worker.authorized && worker.name) names.push(worker.name);
    return names;
  }

  /** The member's slot byte (hex), '' where the channel has none. */
  slotOf(member: ChannelMember): string {
    return this.slotBytes === 1 ? (this.slots.get(member) ?? 0).toString(16).padStart(2, '0') : '';
  }

  private freeSlot(prefix: string): number | null {
    for (let slot = 0; slot < 256; slot++) if (this.isFree(`${slot}:${prefix}`)) return slot;
    return null;
  }

  private isFree(key: string): boolean {
    return !this.members.has(key) && !this.vacated.has(key);
  }

  /** Takes a session off; an empty channel closes after `idleMs`, so reconnecting miners do not churn connections. */
  unseat(member: ChannelMember, idleMs: number): void {
    const slot = this.slots.get(member);
    if (slot === undefined) return;
    this.members.delete(`${slot}:${member.prefix}`);
    this.slots.delete(member);
    this.workers.leave(member);
    this.vacated.add(`${slot}:${member.prefix}`);
    if (this.members.size > 0 || this.closed) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.members.size === 0) this.close();
    }, idleMs);
    this.idleTimer.unref();
  }

  /** The miners' mining.set_difficulty line for a difficulty (the pool's is sent to many miners at once). */
  difficultyLine(difficulty: number): Buffer {
    let line = this.difficultyLines.get(difficulty);
    if (!line) {
      line = Buffer.from(encodeNotification('mining.set_difficulty', [difficulty]));
      // Vardiff gives many miners values of their own: only a few recent ones are worth keeping.
      if (this.difficultyLines.size >= 16) this.difficultyLines.delete(this.difficultyLines.keys().next().value as number);
      this.difficultyLines.set(difficulty, line);
    }
    return line;
  }

  /** A job by the id the miners were given. */
  job(minerJobId: string): ChannelJob | undefined {
    return this.jobs.get(minerJobId);
  }

  isStale(minerJobId: string): boolean {
    return this.staleJobIds.has(minerJobId);
  }

  /** How many jobs the channel keeps now (the newest first): older ones are stale locally. */
  get jobsKept(): number {
    return this.jobWindow;
  }

  /**
   * The pool answered `job not found` (or stale) for a job the channel still keeps: when no job change
   * explains it, the pool keeps fewer jobs than the channel, so jobs as old are stale locally from now on.
   */
  poolForgot(job: ChannelJob): void {
    if (this.jobs.get(job.minerJobId) !== job || !this.lastJob) return; // retired since: a job change explains it
    const newer = this.lastJob.seq - job.seq;
    if (newer >= this.jobWindow) return;
    const window = Math.max(MIN_JOB_WINDOW, newer);
    if (window === this.jobWindow) return;
    const message = `${this.label}: the pool forgot a job ${newer} jobs old: keeping ${window} jobs (was ${this.jobWindow})`;
    if (this.windowLogged) this.logger.debug?.(message);
    else this.logger.log(message);
    this.windowLogged = true;
    this.jobWindow = window;
    this.trimJobs();
  }

  /**
   * Forwards a share of a job (the pool's job id goes to the pool). A rejection that comes with the
   * connection gone (down, closed, or left for another account) is the proxy's answer, not the pool's.
   */
  submit(
    job: ChannelJob,
    extranonce2: string,
    ntime: string,
    nonce: string,
    versionBits?: string,
    member?: ChannelMember,
  ): Promise<ChannelVerdict> {
    const connection = this.connection;
    // The member's worker name once the pool authorized it; until then (and for rigs it refused) the account's.
    const worker = member ? this.workers.nameOf(member) : undefined;
    return connection
      .submit(job.job.jobId, extranonce2, ntime, nonce, versionBits, worker)
      .then((verdict) =>
        verdict.accepted || (connection.isReady && connection === this.connection) ? verdict : { ...verdict, poolDown: true },
      );
  }

  /** A miner's difficulty hint reaches the pool only where the connection is the miner's alone. */
  suggestDifficulty(difficulty: number): void {
    if (this.capacity === 1) this.connection.suggestDifficulty(difficulty);
  }

  /** The measured hashrate of the channel's miners (h/s), for pools that ask for it (SV2's UpdateChannel). */
  updateNominalHashRate(hashRate: number): void {
    this.connection.updateNominalHashRate?.(hashRate);
  }

  close(): void {
    if (!this.release()) return;
    this.logger.log(`${this.label}: closed`);
  }

  /** Marks the channel closed, drops its connections and tells the host, once; false when it was closed already. */
  private release(): boolean {
    if (this.closed) return false;
    this.closed = true;
    for (const timer of [this.idleTimer, this.switchTimer, this.jobTimer, this.probeRetryTimer]) if (timer) clearTimeout(timer);
    this.idleTimer = this.switchTimer = this.jobTimer = this.probeRetryTimer = null;
    this.closeProbes(0);
    this.drop(this.connection);
    if (this.countedUp !== null) this.host.accountDown(this, this.countedUp, true);
    this.countedUp = null;
    this.host.channelGone(this);
    return true;
  }

  // ---- the active account ----

  private startAccount(index: number): void {
    this.activeIndex = index;
    if (this.lastReadyIndex !== null || index !== 0) this.epoch++;
    let connection: PoolConnection | null = null;
    connection = this.connect(
      this.accounts[index],
      this.activeListener(() => connection),
      `channel ${this.id}`,
    );
    this.connection = connection;
    connection.start();
  }

  /** Events of the channel's connection; those of a connection the channel has left since are ignored. */
  private activeListener(self: () => PoolConnection | null): PoolConnectionListener {
    const mine = () => !this.closed && self() === this.connection;
    return {
      onReady: () => mine() && this.ready(),
      onAuthorizeFailed: (reason) => mine() && this.accountFailed('refused', `pool refused: ${reason}`),
      onJob: (job) => mine() && this.acceptJob(job),
      onDifficulty: (difficulty) => mine() && this.each((member) => member.channelDifficulty(difficulty, this)),
      onExtranonce: () => mine() && this.renew(),
      onVersionMask: (mask) => mine() && this.each((member) => member.channelVersionMask(mask, this)),
      onDown: (reason, wasReady) => {
        if (!mine()) return;
        this.lost(wasReady, reason);
        if (!wasReady) this.accountFailed('unreachable', `pool unreachable: ${this.poolAddress} (${reason})`);
      },
      onProtocolError: (kind) => {
        if (!mine()) return;
        this.host.poolProtocolError(this, kind);
        // A flooding pool is left for the next account; alone, its connection retries after a longer wait.
        if (kind === 'flood' && this.accounts.length > 1) this.accountFailed('flood', `notification flood from ${this.poolAddress}`);
      },
    };
  }

  /** The active connection is subscribed and authorized: the sessions get its work. */
  private ready(): void {
    const index = this.activeIndex;
    this.roundFailures = 0;
    this.roundBackoffMs = FIRST_ROUND_BACKOFF_MS;
    this.lastErrors[index] = null;
    this.countedUp = index;
    this.host.accountUp(this, index);
    // Sessions start on the primary: reaching another account first is a failover too.
    const from = this.lastReadyIndex ?? 0;
    if (from !== index) {
      const reason = this.leaving ?? 'unreachable';
      this.logger.warn(
        `${this.label}: ${this.members.size} miners moved from ${this.describe(from)} to ${this.describe(index)} (${reason})`,
      );
      this.host.failover(this, from, index, reason);
    }
    this.lastReadyIndex = index;
    this.leaving = null;
    // A new connection (a reconnect, another pool): what the last one kept says nothing about it.
    this.jobWindow = DEFAULT_JOB_WINDOW;
    this.workers.reset();
    if (this.takesRigs()) for (const worker of this.workers.all()) this.authorizeWorker(worker);
    this.renew();
    this.armJobTimer();
    // The pool's first job usually arrives before its authorize answer: it goes out now, clean.
    const first = this.connection.lastJob;
    if (first) this.acceptJob(first);
    this.probeHigherAccounts();
  }

  /** The active connection dropped or an attempt failed: its jobs are void. */
  private lost(wasReady: boolean, reason?: string): void {
    this.retireJobs();
    this.forceClean = true;
    if (this.jobTimer) clearTimeout(this.jobTimer);
    this.jobTimer = null;
    if (wasReady && this.countedUp !== null) {
      this.host.accountDown(this, this.countedUp, true, reason);
      this.countedUp = null;
    } else if (!wasReady) {
      this.host.accountDown(this, this.activeIndex, false, reason);
    }
    this.each((member) => member.channelDown(wasReady, this));
  }

  /**
   * The active account failed. Alone, it is retried (its connection does that) or, refused, the channel
   * ends. With others, the sessions move on: to a higher account already probed up, else the next in order;
   * after a whole round without success the channel waits (1 s doubling to 30 s) and the miners hear why.
   */
  private accountFailed(kind: Exclude<FailoverReason, 'failback'>, detail: string): void {
    const index = this.activeIndex;
    this.lastErrors[index] = detail;
    if (kind === 'refused') this.host.accountRefused(this, index);
    this.leaving ??= kind;
    if (this.accounts.length === 1) {
      if (kind === 'refused') return this.end(detail);
      if (kind === 'no_job') return this.connection.restart(detail);
      return this.each((member) => member.channelUnavailable(detail, this));
    }
    if (this.connection.isReady) this.lost(true);
    this.drop(this.connection);
    const probe = this.readyProbe();
    if (probe !== null) return this.adopt(probe);
    this.closeProbes(0);
    const next = (index + 1) % this.accounts.length;
    let delay = 0;
    if (++this.roundFailures >= this.accounts.length) {
      delay = this.roundBackoffMs;
      this.roundFailures = 0;
      this.roundBackoffMs = Math.min(this.roundBackoffMs * 2, MAX_ROUND_BACKOFF_MS);
      this.logger.warn(`${this.label}: ${detail}; no account works (${this.failure}): next attempt in ${delay} ms`);
      this.each((member) => member.channelUnavailable(this.failure ?? detail, this));
    } else {
      this.logger.warn(`${this.label}: ${detail}; moving ${this.members.size} miners to ${this.describe(next)}`);
    }
    if (delay === 0) return this.startAccount(next);
    this.switchTimer = setTimeout(() => {
      this.switchTimer = null;
      if (!this.closed) this.startAccount(next);
    }, delay);
  }

  private armJobTimer(): void {
    if (this.jobTimer) clearTimeout(this.jobTimer);
    const seconds = Math.round(this.options.jobTimeoutMs / 1000);
    this.jobTimer = setTimeout(() => {
      this.jobTimer = null;
      if (!this.closed) this.accountFailed('no_job', `no job from ${this.poolAddress} for ${seconds} s`);
    }, this.options.jobTimeoutMs);
    this.jobTimer.unref();
  }

  private drop(connection: PoolConnection | undefined): void {
    connection?.setListener(DETACHED);
    connection?.close();
  }

  private describe(index: number): string {
    const { address, account } = this.accounts[index];
    return `${index === 0 ? 'primary' : `backup ${index}`} ${address} (account ${account.user})`;
  }

  // ---- worker names ----

  /** The active account's pool sees each rig (workerNames `rig`) and its protocol has several authorizations (SV1). */
  private takesRigs(): boolean {
    return this.options.workerNames?.(this.activeIndex) === 'rig' && this.connection?.authorizeWorker !== undefined;
  }

  private joinWorker(member: ChannelMember): void {
    const joined = this.workers.join(member, member.rig ?? null);
    if (joined === null) {
      if (member.rig && !this.workerBoundLogged && this.workers.size > 0) {
        this.workerBoundLogged = true;
        this.logger.warn(`${this.label}: ${this.workers.size} worker names on the channel already: further rigs mine as the account`);
      }
      return;
    }
    if (joined.created && this.connection?.isReady && this.takesRigs()) this.authorizeWorker(joined.worker);
  }

  /** Asks the pool for the worker on the current connection; shares go under the account's name until it says yes. */
  private authorizeWorker(worker: ChannelWorker): void {
    const index = this.activeIndex;
    if (this.workers.isRefused(index, worker.label)) return;
    const connection = this.connection;
    const name = workerName(connection.account.user, worker.label);
    worker.name = name;
    void connection.authorizeWorker!(name).then((refusal) => {
      // Answered on a connection the channel has left, or for a rig gone since: nothing to record.
      if (this.closed || connection !== this.connection || !connection.isReady || worker.name !== name) return;
      if (refusal === null) {
        worker.authorized = true;
        return;
      }
      this.workers.refuse(index, worker.label);
      this.host.poolProtocolError(this, 'worker_refused');
      if (this.workerRefusalLogged) return;
      this.workerRefusalLogged = true;
      this.logger.warn(
        `${this.label}: pool ${this.poolAddress} refused worker ${name} (${refusal}): its rig mines as the account; further refusals are not logged`,
      );
    });
  }

  // ---- failback ----

  /** While on a backup, keeps a connection to every higher account, to go back once one has stayed up. */
  private probeHigherAccounts(): void {
    for (let index = 0; index < this.activeIndex; index++) {
      if (this.probes.has(index)) continue;
      let connection: PoolConnection | null = null;
      connection = this.connect(
        this.accounts[index],
        this.probeListener(index, () => connection),
        `channel ${this.id} failback probe`,
      );
      this.probes.set(index, { connection, timer: null });
      connection.start();
    }
  }

  private probeListener(index: number, self: () => PoolConnection | null): PoolConnectionListener {
    const probe = () => {
      const found = this.probes.get(index);
      return found && found.connection === self() && !this.closed ? found : null;
    };
    const ignore = () => undefined;
    return {
      onReady: () => {
        const found = probe();
        if (!found) return;
        found.timer = setTimeout(() => {
          found.timer = null;
          if (probe() === found && found.connection.isReady) this.adopt(index);
        }, this.options.failbackAfterMs);
      },
      onDown: () => {
        const found = probe();
        if (found?.timer) clearTimeout(found.timer);
        if (found) found.timer = null;
      },
      onAuthorizeFailed: () => {
        if (!probe()) return;
        this.probes.delete(index);
        // Its connection is closed for good; the credentials may be fixed later.
        this.probeRetryTimer ??= setTimeout(() => {
          this.probeRetryTimer = null;
          if (!this.closed && this.isReady) this.probeHigherAccounts();
        }, REFUSED_PROBE_DELAY_MS);
      },
      onJob: ignore,
      onDifficulty: ignore,
      onExtranonce: ignore,
      onVersionMask: ignore,
      onProtocolError: (kind) => probe() && this.host.poolProtocolError(this, kind),
    };
  }

  /** The highest account whose probe is up now, or null. */
  private readyProbe(): number | null {
    for (let index = 0; index < this.accounts.length; index++) if (this.probes.get(index)?.connection.isReady) return index;
    return null;
  }

  /** A probed account becomes the channel's: its connection is already up, the sessions get its work now. */
  private adopt(index: number): void {
    const probe = this.probes.get(index);
    if (!probe) return;
    this.probes.delete(index);
    if (probe.timer) clearTimeout(probe.timer);
    if (this.connection.isReady) {
      this.lost(true);
      this.leaving ??= 'failback';
    }
    this.drop(this.connection);
    this.closeProbes(index);
    this.activeIndex = index;
    this.epoch++;
    const connection = probe.connection;
    connection.setListener(this.activeListener(() => connection));
    this.connection = connection;
    this.ready();
  }

  /** Closes the probes of accounts from `from` on (those no higher than the one the channel runs on). */
  private closeProbes(from: number): void {
    for (const [index, probe] of Array.from(this.probes)) {
      if (index < from) continue;
      if (probe.timer) clearTimeout(probe.timer);
      this.drop(probe.connection);
      this.probes.delete(index);
    }
  }

  // ---- work ----

  /**
   * Decided once, before the first job: the layout of the pool's extranonce2 never changes under a job. A pool
   * that later comes back with less room than the layout needs is what a backup of unknown size is: its
   * miners get a set_extranonce or a reconnect (translationFor).
   */
  private decideSlotBytes(poolExtranonce2Size: number): void {
    const needed = 1 + this.options.prefixBytes + this.options.minerExtranonce2Size;
    const smallest = Math.min(poolExtranonce2Size, this.options.smallestPoolExtranonce2 ?? Infinity);
    this.slotBytes = smallest >= needed ? 1 : 0;
  }

  /** A new pool extranonce (connect, reconnect, set_extranonce): jobs under the old one are void. */
  private renew(): void {
    const extranonce = this.connection.extranonce;
    if (this.slotBytes === null && extranonce) this.decideSlotBytes(extranonce.extranonce2Size);
    this.retireJobs();
    this.forceClean = true;
    this.each((member) => member.channelReady(this));
  }

  /** The only account refused the credentials: the channel ends and its sessions hear why. */
  private end(detail: string): void {
    if (!this.release()) return;
    this.each((member) => member.channelClosed(detail, this));
    this.members.clear();
    this.slots.clear();
  }

  private acceptJob(job: PoolJob): void {
    const extranonce = this.connection.extranonce;
    if (!extranonce) return;
    this.jobTimer?.refresh();
    const clean = job.cleanJobs || this.forceClean;
    if (clean) this.retireJobs();
    const minerJobId = this.epoch === 0 ? job.jobId : `${(this.epoch % 255 || 255).toString(16).padStart(2, '0')}${job.jobId}`;
    const tracked = new ChannelJob(job, minerJobId, ++this.seq, extranonce, this.connection.difficulty, this.options.prefixBytes);
    this.staleJobIds.delete(minerJobId);
    this.jobs.set(minerJobId, tracked);
    this.trimJobs();
    this.lastJob = tracked;
    this.forceClean = false;
    const members = Array.from(this.members.values());
    this.fanOut.run(members.length, (i) => {
      // A job retired while its broadcast waited (reconnect, clean job) is not worth sending.
      if (this.jobs.get(minerJobId) === tracked) members[i].channelJob(tracked, this);
    });
  }

  private retireJobs(): void {
    // Every job a departed miner could have worked on is gone: its slot and prefix are free again.
    this.vacated.clear();
    for (const id of this.jobs.keys()) this.markStale(id);
    this.jobs.clear();
    this.lastJob = null;
  }

  /** Drops the oldest jobs past the window: their late shares are answered stale, not "job not found". */
  private trimJobs(): void {
    while (this.jobs.size > this.jobWindow) {
      const oldest = this.jobs.keys().next().value as string;
      this.jobs.delete(oldest);
      this.markStale(oldest);
    }
  }

  private markStale(minerJobId: string): void {
    this.staleJobIds.add(minerJobId);
    if (this.staleJobIds.size > MAX_STALE_JOB_IDS) this.staleJobIds.delete(this.staleJobIds.values().next().value as string);
  }

  /** Calls every member; a copy, since a member may leave while being told. */
  private each(tell: (member: ChannelMember) => void): void {
    for (const member of Array.from(this.members.values())) tell(member);
  }
}
