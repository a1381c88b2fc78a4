import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { METRIC } from '../metrics/proxy-metrics.js';
import { AccountingService } from '../accounting/accounting.service.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { PoolChanges } from '../pools/pool-changes.js';
import { PoolsService } from '../pools/pools.service.js';
import type { Pool } from '../pools/pool.entity.js';
import { Channel, ChannelAccount, ChannelHost, ChannelMember, FailoverReason } from './channel.js';
import { FanOut } from './fan-out.js';
import { NotifyCache, PoolAccount, PoolConnection, PoolConnectionListener, PoolConnectionOptions } from './pool-connection.js';
import { POOL_DIFFICULTY_FLOOR } from './pool-limits.js';
import { SV2_METRIC, sv2SecurityFailure } from './sv2-metrics.js';
import { DEFAULT_NOMINAL_HASH_RATE, isSv2SecurityReason, Sv2PoolConnection } from './sv2-pool-connection.js';
import type { UpstreamConnection } from './upstream-connection.js';
import type { WorkerNames } from './worker-names.js';

export const USER_AGENT = 'stratum-proxy/0.1.0';

/** Miners a job is written to per turn of the event loop (about 10 ms of socket writes on loopback). */
const JOB_WRITES_PER_TURN = 512;

/** How often SV2 channels tell their pool the measured hashrate of their miners (UpdateChannel), when it moved by a tenth. */
const NOMINAL_HASH_RATE_REFRESH_MS = 30_000;
const NOMINAL_HASH_RATE_CHANGE = 0.1;

/** prom-client calls a metric's `collect` before every read; its typings only take one in the constructor. */
type CollectedGauge = Gauge & { collect?: () => void };

/** One account a session may mine for, with the pool it belongs to (for the labels). */
export interface AccountRequest {
  readonly pool: Pool;
  readonly account: PoolAccount;
}

/** What a session mines for: its registered name's accounts, the primary first. */
export interface ChannelRequest {
  /** The registered name (the `user` label of failovers). */
  readonly name: string;
  /** The extranonce2 size the session was told (a channel it opens keeps room for it). */
  readonly minerExtranonce2Size?: number;
  readonly accounts: readonly AccountRequest[];
}

/**
 * The upstream side: channels (pool connections) per list of accounts, and which session sits on which. A
 * session goes to the first channel of its accounts with room and its prefix free; one more opens another
 * channel. The Stratum side only attaches, submits through the channel it was given, and detaches.
 */
@Injectable()
export class UpstreamChannels implements ChannelHost, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UpstreamChannels.name);
  private readonly byAccount = new Map<string, Channel[]>();
  /** The pool entities of each channel's accounts (kept current when an algorithm is detected), and its name. */
  private readonly owners = new Map<Channel, { readonly name: string; readonly pools: Pool[] }>();
  /** One notify cache per pool address, shared by all its channels (jobs are immutable). */
  private readonly notifyCaches = new Map<string, NotifyCache>();
  private nextId = 1;
  /** Pools being connected once to learn their extranonce2 size, by id. */
  private readonly sizeProbes = new Map<number, UpstreamConnection>();
  /** Every channel's job broadcasts; the miners' lines wait for it when the core cannot keep up (bootstrap). */
  readonly fanOut = new FanOut(JOB_WRITES_PER_TURN);
  /** The hashrate each channel last told its SV2 pool (h/s). */
  private readonly nominalHashRates = new Map<Channel, number>();
  private nominalTimer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounting: AccountingService,
    private readonly poolsService: PoolsService,
    poolChanges: PoolChanges,
    @InjectMetric(METRIC.channelSessions) private readonly sessionsGauge: CollectedGauge,
    @InjectMetric(METRIC.channelDifficulty) private readonly difficultyGauge: CollectedGauge,
    @InjectMetric(METRIC.failovers) private readonly failovers: Counter,
    @InjectMetric(SV2_METRIC.poolInfo) private readonly poolInfoGauge: CollectedGauge,
    @InjectMetric(SV2_METRIC.securityFailures) private readonly sv2SecurityFailures: Counter,
  ) {
    poolChanges.subscribe((pool) => this.poolChanged(pool));
  }

  /**
   * The channel gauges mirror live state: computed when Prometheus collects, not kept in step. Channels of
   * one miner (aggregation 1) have none: that would be a series per miner, which the worker metrics are.
   */
  onModuleInit(): void {
    const proxy = this.config.metricsTag;
    this.sessionsGauge.collect = () => {
      this.sessionsGauge.reset();
      for (const channel of this.shared())
        this.sessionsGauge.set({ proxy, pool: channel.poolAddress, channel: String(channel.id) }, channel.sessionCount);
    };
    this.difficultyGauge.collect = () => {
      this.difficultyGauge.reset();
      for (const channel of this.shared()) {
        const difficulty = channel.difficulty;
        if (difficulty !== null) this.difficultyGauge.set({ proxy, pool: channel.poolAddress, channel: String(channel.id) }, difficulty);
      }
    };
    // Every pool an open channel may use (its backups too), with the protocol it speaks.
    this.poolInfoGauge.collect = () => {
      this.poolInfoGauge.reset();
      for (const { pools } of this.owners.values())
        for (const pool of pools) this.poolInfoGauge.set({ proxy, pool: pool.address, protocol: pool.protocol ?? 'sv1' }, 1);
    };
    this.nominalTimer = setInterval(() => this.refreshNominalHashRates(), NOMINAL_HASH_RATE_REFRESH_MS);
    this.nominalTimer.unref();
  }

  /**
   * Tells SV2 pools the measured hashrate of each channel's miners (UpdateChannel), where it moved by a tenth
   * since it was last told: the name's hashrate over the speed window, shared among its channels by sessions.
   */
  refreshNominalHashRates(): void {
    for (const channel of this.all()) {
      if (channel.closed) continue;
      const rate = this.measuredHashRate(channel);
      if (rate === null) continue;
      const told = this.nominalHashRates.get(channel);
      if (told !== undefined && Math.abs(rate - told) <= told * NOMINAL_HASH_RATE_CHANGE) continue;
      this.nominalHashRates.set(channel, rate);
      channel.updateNominalHashRate(rate);
    }
  }

  /** The channel's part of its name's measured hashrate (null: nothing measured yet). */
  private measuredHashRate(channel: Channel): number | null {
    const owner = this.owners.get(channel);
    if (!owner) return null;
    const total = this.accounting.userHashrate(owner.name);
    if (!(total > 0)) return null;
    let sessions = 0;
    for (const [other, { name }] of this.owners) if (name === owner.name) sessions += other.sessionCount;
    return sessions > 0 ? (total * channel.sessionCount) / sessions : null;
  }

  /** Seats a session on a channel of its account (opening one if needed). */
  attach(member: ChannelMember, request: ChannelRequest): Channel {
    const key = accountKey(request);
    const channels = this.byAccount.get(key) ?? [];
    let channel = channels.find((candidate) => candidate.canSeat(member.prefix));
    if (!channel) {
      channel = this.open(key, request);
      channels.push(channel);
      this.byAccount.set(key, channels);
    }
    channel.seat(member);
    return channel;
  }

  detach(member: ChannelMember, channel: Channel): void {
    channel.unseat(member, this.config.upstream.channelIdleMs);
  }

  /**
   * Connects once to a pool whose extranonce2 size is not known yet (right after a registration), so that
   * the first miners of its name are already told a size that fits it. The size is stored with the pool.
   */
  learnPoolSize(pool: Pool, account: PoolAccount): void {
    if (pool.extranonce2Size !== null || this.sizeProbes.has(pool.id)) return;
    let connection: UpstreamConnection | null = null;
    const done = () => {
      connection?.close();
      this.sizeProbes.delete(pool.id);
    };
    const learn = () => {
      const size = connection?.extranonce?.extranonce2Size;
      if (size !== undefined) this.poolsService.learnExtranonce2Size(pool, size);
      done();
    };
    const ignore = () => undefined;
    connection = this.connectionFor(
      pool,
      account,
      this.connectionOptions({ versionRollingMask: null, publicOnly: this.publicOnly(pool) }),
      // One attempt: subscribe tells the size whether or not the pool accepts the account (SV2: the channel's opening).
      {
        onReady: learn,
        onAuthorizeFailed: learn,
        onDown: done,
        onJob: ignore,
        onDifficulty: ignore,
        onExtranonce: ignore,
        onVersionMask: ignore,
        onProtocolError: ignore,
      },
      `pool ${pool.address} size probe`,
      // The spec: a proxy with no mining device connected yet sends 0.
      0,
    );
    this.sizeProbes.set(pool.id, connection);
    connection.start();
  }

  /** Shares forwarded to pools and not answered yet (a drain waits for them). */
  sharesInFlight(): number {
    let count = 0;
    for (const channel of this.all()) count += channel.sharesInFlight;
    return count;
  }

  /** Every open channel (for metrics and the API). */
  *all(): IterableIterator<Channel> {
    for (const channels of this.byAccount.values()) yield* channels;
  }

  /** The channels that can carry more than one miner. */
  private *shared(): IterableIterator<Channel> {
    for (const channel of this.all()) if (channel.capacity > 1) yield channel;
  }

  onModuleDestroy(): void {
    for (const channel of Array.from(this.all())) channel.close();
    for (const probe of Array.from(this.sizeProbes.values())) probe.close();
    if (this.nominalTimer) clearInterval(this.nominalTimer);
    this.nominalTimer = null;
    // The registry is process-wide: a later app in the same process (tests) must not call into this one.
    for (const gauge of [this.sessionsGauge, this.difficultyGauge, this.poolInfoGauge]) {
      gauge.collect = undefined;
      gauge.reset();
    }
  }

  // ---- ChannelHost ----

  accountUp(channel: Channel, index: number): void {
    const pool = this.poolOf(channel, index);
    if (!pool) return;
    const size = channel.extranonce?.extranonce2Size;
    if (size !== undefined) this.poolsService.learnExtranonce2Size(pool, size);
    this.accounting.upstreamConnectAttempt(pool.address, 'success');
    this.accounting.poolConnected(pool.address, pool.algorithm.name, pool.algorithm.divider);
  }

  accountDown(channel: Channel, index: number, wasReady: boolean, reason?: string): void {
    const pool = this.poolOf(channel, index);
    if (!pool) return;
    const security = reason === undefined ? null : sv2SecurityFailure(reason);
    if (security) this.sv2SecurityFailures.inc({ proxy: this.config.metricsTag, pool: pool.address, ...security });
    if (wasReady) this.accounting.poolDisconnected(pool.address);
    else this.accounting.upstreamConnectAttempt(pool.address, isSecurityFailure(reason) ? 'tls_failure' : 'failure');
  }

  accountRefused(channel: Channel, index: number): void {
    const pool = this.poolOf(channel, index);
    if (pool) this.accounting.upstreamConnectAttempt(pool.address, 'refused');
  }

  failover(channel: Channel, from: number, to: number, reason: FailoverReason): void {
    const owner = this.owners.get(channel);
    if (!owner) return;
    const labels = { proxy: this.config.metricsTag, user: owner.name, reason };
    this.failovers.inc({ ...labels, from: channel.accounts[from].address, to: channel.accounts[to].address });
  }

  channelGone(channel: Channel): void {
    const channels = this.byAccount.get(channel.key);
    if (channels) {
      const rest = channels.filter((candidate) => candidate !== channel);
      if (rest.length > 0) this.byAccount.set(channel.key, rest);
      else this.byAccount.delete(channel.key);
    }
    this.owners.delete(channel);
    this.nominalHashRates.delete(channel);
  }

  poolProtocolError(_channel: Channel, kind: string): void {
    this.accounting.protocolError('pool', kind);
  }

  /** The pool entity of one of a channel's accounts. */
  poolOf(channel: Channel, index = channel.active): Pool | undefined {
    return this.owners.get(channel)?.pools[index];
  }

  private open(key: string, request: ChannelRequest): Channel {
    const { upstream, stratum } = this.config;
    const primary = request.accounts[0].pool;
    const accounts: ChannelAccount[] = request.accounts.map(({ pool, account }) => ({
      address: pool.address,
      account,
      publicOnly: this.publicOnly(pool),
    }));
    const channel: Channel = new Channel(
      this.nextId++,
      key,
      accounts,
      {
        // The primary pool's own limit (pools API) wins; one session per prefix and slot is the most a channel can seat.
        capacity: Math.min(primary.aggregation ?? upstream.aggregation, 256 ** stratum.extranonce1Size),
        prefixBytes: stratum.extranonce1Size,
        minerExtranonce2Size: request.minerExtranonce2Size ?? stratum.extranonce2Size,
        smallestPoolExtranonce2: smallestKnown(request.accounts.map(({ pool }) => pool.extranonce2Size)),
        primaryPoolExtranonce2: primary.extranonce2Size,
        jobTimeoutMs: upstream.jobTimeoutMs,
        failbackAfterMs: upstream.failbackAfterMs,
        // Asked at each connection, so that a change by the pools API applies from the channel's next one.
        workerNames: (index): WorkerNames => this.poolOf(channel, index)?.workerNames ?? 'account',
      },
      this,
      this.fanOut,
    );
    this.owners.set(channel, { name: request.name, pools: request.accounts.map(({ pool }) => pool) });
    channel.open((account, listener, label) => {
      const pool = this.poolOf(channel, channel.accounts.indexOf(account)) ?? primary;
      return this.connectionFor(
        pool,
        account.account,
        this.connectionOptions({
          // Asked once for the whole channel: each session then gets its own mask within it.
          versionRollingMask: stratum.versionMask,
          notifyCache: this.notifyCacheFor(account.address),
          publicOnly: account.publicOnly,
          difficultyFloor: POOL_DIFFICULTY_FLOOR,
          // One firmware on the whole channel: the pool sees it, as it would with the miners connected directly.
          subscribeUserAgent: () => channel.commonUserAgent ?? USER_AGENT,
        }),
        listener,
        label,
        this.nominalHashRates.get(channel) ?? this.measuredHashRate(channel) ?? undefined,
      );
    });
    const backups = accounts.length > 1 ? `, ${accounts.length - 1} backup account(s)` : '';
    this.logger.log(`${channel.label}: opened (up to ${channel.capacity} miners${backups})`);
    return channel;
  }

  /**
   * The pool connection for an account, in the protocol its pool is registered with: the one place that
   * knows there are two. An SV2 channel asks for an extranonce that holds everything the channel puts
   * after the pool's prefix: the slot byte, the session's prefix and the longest miner extranonce2.
   */
  private connectionFor(
    pool: Pool,
    account: PoolAccount,
    options: PoolConnectionOptions,
    listener: PoolConnectionListener,
    label: string,
    nominalHashRate?: number,
  ): UpstreamConnection {
    if (pool.protocol !== 'sv2') return new PoolConnection(account, options, listener, label);
    const { extranonce1Size, extranonce2Size } = this.config.stratum;
    return new Sv2PoolConnection(
      { ...account, authorityPublicKey: pool.authorityPubkey ?? '' },
      {
        ...options,
        minExtranonceSize: 1 + extranonce1Size + extranonce2Size,
        nominalHashRate: nominalHashRate ?? DEFAULT_NOMINAL_HASH_RATE,
      },
      listener,
      label,
    );
  }

  /** The options every pool connection shares (--upstream.*), with what differs for this one. */
  private connectionOptions(
    specific: Pick<PoolConnectionOptions, 'versionRollingMask' | 'notifyCache' | 'publicOnly' | 'difficultyFloor' | 'subscribeUserAgent'>,
  ): PoolConnectionOptions {
    const { maxLineLength, connectTimeoutMs, submitTimeoutMs } = this.config.upstream;
    return { userAgent: USER_AGENT, maxLineLength, connectTimeoutMs, submitTimeoutMs, ...specific };
  }

  /** Pools anonymous registrants added are reached on public addresses only, unless --pools.allowPrivate. */
  private publicOnly(pool: Pool): boolean {
    return this.config.pools.allowUnknown && !this.config.pools.allowPrivate && pool.registeredByUser;
  }

  private notifyCacheFor(address: string): NotifyCache {
    let cache = this.notifyCaches.get(address);
    if (!cache) this.notifyCaches.set(address, (cache = new NotifyCache()));
    return cache;
  }

  /** A pool's algorithm changed (detected or set by hand): its channels' labels follow. */
  private poolChanged(pool: Pool): void {
    for (const { pools } of this.owners.values()) for (let i = 0; i < pools.length; i++) if (pools[i].id === pool.id) pools[i] = pool;
  }
}

/** A connection attempt that failed on the pool's identity or encryption (TLS, or SV2's Noise): counted as tls_failure. */
function isSecurityFailure(reason: string | undefined): boolean {
  return reason !== undefined && (reason.startsWith('TLS') || isSv2SecurityReason(reason));
}

/** Channels are shared by exactly the same accounts in the same order; passwords are part of them. */
function accountKey({ accounts }: ChannelRequest): string {
  return accounts.map(({ pool, account }) => `${pool.id}\u0000${account.user}\u0000${account.password}`).join('\u0001');
}

function smallestKnown(sizes: readonly (number | null)[]): number | null {
  const known = sizes.filter((size): size is number => size !== null);
  return known.length > 0 ? Math.min(...known) : null;
}
