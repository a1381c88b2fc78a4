import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { METRIC } from '../metrics/proxy-metrics.js';
import { AccountingService } from '../accounting/accounting.service.js';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { PoolChanges } from '../pools/pool-changes.js';
import type { Pool } from '../pools/pool.entity.js';
import { Channel, ChannelHost, ChannelMember } from './channel.js';
import { FanOut } from './fan-out.js';
import { NotifyCache, PoolAccount, PoolConnection } from './pool-connection.js';

export const USER_AGENT = 'stratum-proxy/0.1.0';

/** Miners a job is written to per turn of the event loop (about 10 ms of socket writes on loopback). */
const JOB_WRITES_PER_TURN = 512;

/** prom-client calls a metric's `collect` before every read; its typings only take one in the constructor. */
type CollectedGauge = Gauge & { collect?: () => void };

/** The account a session mines for, with the pool it belongs to (for the labels). */
export interface ChannelRequest {
  readonly pool: Pool;
  readonly account: PoolAccount;
}

/**
 * The upstream side: channels (pool connections) per account, and which session sits on which. A session
 * goes to the first channel of its account with room and its prefix free; one more opens another channel.
 * The Stratum side only attaches, submits through the channel it was given, and detaches.
 */
@Injectable()
export class UpstreamChannels implements ChannelHost, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UpstreamChannels.name);
  private readonly byAccount = new Map<string, Channel[]>();
  /** The pool entity per channel, kept current when an algorithm is detected. */
  private readonly pools = new Map<Channel, Pool>();
  /** One notify cache per pool address, shared by all its channels (jobs are immutable). */
  private readonly notifyCaches = new Map<string, NotifyCache>();
  private nextId = 1;
  private readonly fanOut = new FanOut(JOB_WRITES_PER_TURN);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounting: AccountingService,
    poolChanges: PoolChanges,
    @InjectMetric(METRIC.channelSessions) private readonly sessionsGauge: CollectedGauge,
    @InjectMetric(METRIC.channelDifficulty) private readonly difficultyGauge: CollectedGauge,
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
    // The registry is process-wide: a later app in the same process (tests) must not call into this one.
    for (const gauge of [this.sessionsGauge, this.difficultyGauge]) {
      gauge.collect = undefined;
      gauge.reset();
    }
  }

  // ---- ChannelHost ----

  channelUp(channel: Channel): void {
    const pool = this.pools.get(channel);
    if (!pool || channel.countedUp) return;
    channel.countedUp = true;
    this.accounting.upstreamConnectAttempt(pool.address, 'success');
    this.accounting.poolConnected(pool.address, pool.algorithm.name, pool.algorithm.divider);
  }

  channelDown(channel: Channel, wasReady: boolean): void {
    const pool = this.pools.get(channel);
    if (!pool) return;
    if (!wasReady) {
      this.accounting.upstreamConnectAttempt(pool.address, 'failure');
      return;
    }
    if (!channel.countedUp) return;
    channel.countedUp = false;
    this.accounting.poolDisconnected(pool.address);
  }

  channelRefused(channel: Channel): void {
    const pool = this.pools.get(channel);
    if (pool) this.accounting.upstreamConnectAttempt(pool.address, 'refused');
  }

  channelGone(channel: Channel): void {
    const channels = this.byAccount.get(channel.key);
    if (channels) {
      const rest = channels.filter((candidate) => candidate !== channel);
      if (rest.length > 0) this.byAccount.set(channel.key, rest);
      else this.byAccount.delete(channel.key);
    }
    this.pools.delete(channel);
  }

  poolProtocolError(_channel: Channel, kind: string): void {
    this.accounting.protocolError('pool', kind);
  }

  private open(key: string, request: ChannelRequest): Channel {
    const { upstream, stratum } = this.config;
    const channel = new Channel(
      this.nextId++,
      key,
      request.account,
      request.pool.address,
      // A pool's own limit (pools API) wins; one session per prefix and slot is the most a channel can seat.
      Math.min(request.pool.aggregation ?? upstream.aggregation, 256 ** stratum.extranonce1Size),
      stratum.extranonce1Size,
      stratum.extranonce2Size,
      this,
      this.fanOut,
    );
    this.pools.set(channel, request.pool);
    channel.open(
      (listener) =>
        new PoolConnection(
          request.account,
          {
            userAgent: USER_AGENT,
            maxLineLength: upstream.maxLineLength,
            connectTimeoutMs: upstream.connectTimeoutMs,
            giveUpAfterMs: upstream.giveUpAfterMs,
            submitTimeoutMs: upstream.submitTimeoutMs,
            // Asked once for the whole channel: each session then gets its own mask within it.
            versionRollingMask: stratum.versionMask,
            notifyCache: this.notifyCacheFor(request.pool.address),
          },
          listener,
          `channel ${channel.id}`,
        ),
    );
    this.logger.log(`${channel.label}: opened (up to ${channel.capacity} miners)`);
    return channel;
  }

  private notifyCacheFor(address: string): NotifyCache {
    let cache = this.notifyCaches.get(address);
    if (!cache) this.notifyCaches.set(address, (cache = new NotifyCache()));
    return cache;
  }

  /** A pool's algorithm changed (detected or set by hand): its channels' labels follow. */
  private poolChanged(pool: Pool): void {
    for (const [channel, current] of this.pools) if (current.id === pool.id) this.pools.set(channel, pool);
  }
}

/** Channels are shared by exactly the same pool account; the password is part of it (it may differ per worker). */
function accountKey({ pool, account }: ChannelRequest): string {
  return `${pool.id}\u0000${account.user}\u0000${account.password}`;
}
