import { Logger } from '@nestjs/common';
import { ExtranonceTranslation, fitsPool, minerNotifyLine, translation } from '../protocol/extranonce.js';
import { encodeNotification } from '../protocol/json-rpc.js';
import type { PoolExtranonce, PoolJob } from '../protocol/pool-messages.js';
import type { FanOut } from './fan-out.js';
import type { PoolAccount, PoolConnection, PoolConnectionListener, ShareVerdict } from './pool-connection.js';

/**
 * A cache almost always asked for one key (one extranonce2 size and slot on a channel): that one lives in
 * two fields and a Map is made only past it. Channels keep 32 jobs each, and with one channel per miner
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

  constructor(
    readonly job: PoolJob,
    /** Channel-wide job number: a session's difficulty history is keyed by it. */
    readonly seq: number,
    /** The pool extranonce this job was issued under. */
    readonly extranonce: PoolExtranonce,
    /** The pool's difficulty for shares of this job (it applies from the job after set_difficulty); null: never set. */
    readonly poolDifficulty: number | null,
    private readonly prefixBytes: number,
  ) {}

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
      line = Buffer.from(minerNotifyLine(this.job, t, clean));
      this.lines.set(key, line);
    }
    return line;
  }

  /** Remembers a share that passed every check; false when it was seen before. Bounded per job. */
  remember(key: string, limit: number): boolean {
    const seen = (this.seen ??= new Set());
    if (seen.has(key)) return false;
    // Past the bound the oldest keys go: a duplicate that old is caught by the pool.
    if (seen.size >= limit) seen.delete(seen.values().next().value as string);
    seen.add(key);
    return true;
  }
}

/** What a channel tells the sessions on it. Implemented by the miner-facing side. */
export interface ChannelMember {
  /** The session's own extranonce1 (hex), unique on the channel. */
  readonly prefix: string;
  /** Connected (or reconnected, or the pool changed its extranonce): old jobs are void, a clean job follows. */
  channelReady(channel: Channel): void;
  channelJob(job: ChannelJob, channel: Channel): void;
  /** The pool's difficulty changed; it applies from the next job. */
  channelDifficulty(difficulty: number, channel: Channel): void;
  channelVersionMask(mask: number, channel: Channel): void;
  /** The pool connection dropped (wasReady) or an attempt failed; the channel retries. */
  channelDown(wasReady: boolean, channel: Channel): void;
  /** The pool refused the account, or stayed unreachable for too long: the channel is closed for good. */
  channelClosed(reason: 'refused' | 'unreachable', detail: string, channel: Channel): void;
}

/** What a channel tells the service that owns it (accounting, bookkeeping). */
export interface ChannelHost {
  channelUp(channel: Channel): void;
  channelDown(channel: Channel, wasReady: boolean): void;
  channelRefused(channel: Channel): void;
  channelGone(channel: Channel): void;
  poolProtocolError(channel: Channel, kind: string): void;
}

/** Jobs kept for late submits; older ones are answered as stale. */
const MAX_JOBS = 32;
/** Job ids replaced by clean jobs, remembered to tell "stale" from "never existed". */
const MAX_STALE_JOB_IDS = 64;

/**
 * One pool connection of one account, shared by up to `capacity` sessions, each with its own prefix. Jobs,
 * difficulty, extranonce and version-mask changes and reconnects are handled once here, for every session.
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
  private connection!: PoolConnection;
  private seq = 0;
  private lastJob: ChannelJob | null = null;
  /** The next job goes out clean: the previous ones died with a connection or an extranonce. */
  private forceClean = true;
  private idleTimer: NodeJS.Timeout | null = null;
  /** mining.set_difficulty lines by value, encoded once for every miner told the same difficulty. */
  private readonly difficultyLines = new Map<number, Buffer>();
  closed = false;
  /** Whether the service counts this channel's connection as up. */
  countedUp = false;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly account: PoolAccount,
    /** host:port as registered (the `pool` label). */
    readonly poolAddress: string,
    readonly capacity: number,
    readonly prefixBytes: number,
    /** The extranonce2 size miners are told by default: a slot byte is used only where it still fits. */
    private readonly minerExtranonce2Size: number,
    private readonly host: ChannelHost,
    /** Jobs reach the members in slices, shared by every channel of the process. */
    private readonly fanOut: FanOut,
  ) {}

  get label(): string {
    return `channel ${this.id} (${this.poolAddress} account ${this.account.user})`;
  }

  /** Starts the pool connection (the service builds it with this channel's listener). */
  open(connect: (listener: PoolConnectionListener) => PoolConnection): void {
    this.connection = connect(this.listener());
    this.connection.start();
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

  job(jobId: string): ChannelJob | undefined {
    return this.jobs.get(jobId);
  }

  isStale(jobId: string): boolean {
    return this.staleJobIds.has(jobId);
  }

  submit(jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string): Promise<ShareVerdict> {
    return this.connection.submit(jobId, extranonce2, ntime, nonce, versionBits);
  }

  /** A miner's difficulty hint reaches the pool only where the connection is the miner's alone. */
  suggestDifficulty(difficulty: number): void {
    if (this.capacity === 1) this.connection.suggestDifficulty(difficulty);
  }

  close(): void {
    if (!this.release()) return;
    this.connection?.close();
    this.logger.log(`${this.label}: closed`);
  }

  /** Marks the channel closed and tells the host, once; false when it was closed already. */
  private release(): boolean {
    if (this.closed) return false;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.countedUp) this.host.channelDown(this, true);
    this.host.channelGone(this);
    return true;
  }

  private listener(): PoolConnectionListener {
    return {
      onReady: () => {
        this.host.channelUp(this);
        this.renew();
        // The pool's first job usually arrives before its authorize answer: it goes out now, clean.
        const first = this.connection.lastJob;
        if (first) this.acceptJob(first);
      },
      onAuthorizeFailed: (reason) => this.end('refused', reason),
      onJob: (job) => this.acceptJob(job),
      onDifficulty: (difficulty) => this.each((member) => member.channelDifficulty(difficulty, this)),
      onExtranonce: () => this.renew(),
      onVersionMask: (mask) => this.each((member) => member.channelVersionMask(mask, this)),
      onDown: (_reason, wasReady) => {
        this.retireJobs();
        this.forceClean = true;
        this.host.channelDown(this, wasReady);
        this.each((member) => member.channelDown(wasReady, this));
      },
      onProtocolError: (kind) => this.host.poolProtocolError(this, kind),
      onGiveUp: () => this.end('unreachable', `pool ${this.poolAddress} unreachable`),
    };
  }

  /** A new pool extranonce (connect, reconnect, set_extranonce): jobs under the old one are void. */
  private renew(): void {
    const extranonce = this.connection.extranonce;
    if (this.slotBytes === null && extranonce) {
      // Decided once, before the first job: the layout of the pool's extranonce2 never changes under a job.
      this.slotBytes = extranonce.extranonce2Size >= 1 + this.prefixBytes + this.minerExtranonce2Size ? 1 : 0;
    }
    this.retireJobs();
    this.forceClean = true;
    this.each((member) => member.channelReady(this));
  }

  private end(reason: 'refused' | 'unreachable', detail: string): void {
    if (reason === 'refused' && !this.closed) this.host.channelRefused(this);
    if (!this.release()) return;
    this.each((member) => member.channelClosed(reason, detail, this));
    this.members.clear();
    this.slots.clear();
  }

  private acceptJob(job: PoolJob): void {
    const extranonce = this.connection.extranonce;
    if (!extranonce) return;
    const clean = job.cleanJobs || this.forceClean;
    if (clean) this.retireJobs();
    const tracked = new ChannelJob(job, ++this.seq, extranonce, this.connection.difficulty, this.prefixBytes);
    this.staleJobIds.delete(job.jobId);
    this.jobs.set(job.jobId, tracked);
    if (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    this.lastJob = tracked;
    this.forceClean = false;
    const members = Array.from(this.members.values());
    this.fanOut.run(members.length, (i) => {
      // A job retired while its broadcast waited (reconnect, clean job) is not worth sending.
      if (this.jobs.get(job.jobId) === tracked) members[i].channelJob(tracked, this);
    });
  }

  private retireJobs(): void {
    // Every job a departed miner could have worked on is gone: its slot and prefix are free again.
    this.vacated.clear();
    for (const id of this.jobs.keys()) {
      this.staleJobIds.add(id);
      if (this.staleJobIds.size > MAX_STALE_JOB_IDS) this.staleJobIds.delete(this.staleJobIds.values().next().value as string);
    }
    this.jobs.clear();
    this.lastJob = null;
  }

  /** Calls every member; a copy, since a member may leave while being told. */
  private each(tell: (member: ChannelMember) => void): void {
    for (const member of Array.from(this.members.values())) tell(member);
  }
}
