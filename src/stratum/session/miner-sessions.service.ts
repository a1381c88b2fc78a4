import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import type { Channel, ChannelMember } from '../../upstream/channel.js';
import { RoutingService } from '../../upstream/routing/routing.service.js';
import { UpstreamChannels } from '../../upstream/channels.service.js';
import { AccountingService, ShareOutcome, WorkerInfo } from '../../accounting/accounting.service.js';
import { AlgorithmDetector } from '../../pools/algorithms/algorithm-detector.js';
import { PoolChanges } from '../../pools/pool-changes.js';
import type { Pool } from '../../pools/pool.entity.js';
import type { User } from '../../users/user.entity.js';
import { NameAccount, routesOf, UsersService } from '../../users/users.service.js';
import { channelUser, MAX_WORKERS_PER_CHANNEL, RigChannelSlots, rigOwnsChannel, workerLabel } from '../../upstream/worker-names.js';
import type { PoolAccount } from '../../upstream/pool-connection.js';
import type { SubscribeRequest } from '../../protocol/miner-messages.js';
import type { StratumConnection } from '../transport/stratum-connection.js';
import { MinerSession, SessionHost } from './miner-session.js';
import { PrefixAllocator } from './prefix-allocator.js';
import { resumeVerdict } from './resume-policy.js';

/** The registry of miner sessions: by connection (live) and by session id (for resume). */
@Injectable()
export class MinerSessions implements SessionHost, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(MinerSessions.name);
  private readonly byId = new Map<string, MinerSession>();
  private readonly byConnection = new Map<StratumConnection, MinerSession>();
  private readonly prefixes: PrefixAllocator;
  private tickTimer: NodeJS.Timeout | null = null;
  private readonly rigChannels = new RigChannelSlots<MinerSession>();

  constructor(
    @Inject(APP_CONFIG) readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly upstream: UpstreamChannels,
    private readonly accounting: AccountingService,
    private readonly detector: AlgorithmDetector,
    poolChanges: PoolChanges,
    private readonly routing: RoutingService,
  ) {
    poolChanges.subscribe((pool) => this.poolChanged(pool));
    routing.setMechanics({
      move: (sessionId) => this.byId.get(sessionId)?.moveChannel(),
      watch: (name, accounts, up) => this.watchRoute(name, accounts, up),
    });
    users.onRoutesChanged((user) => this.routesChanged(user));
    // A newly registered pool is connected once to learn its extranonce2 size before the name's miners come.
    users.onAccountsAdded((accounts) => {
      for (const account of accounts) upstream.learnPoolSize(account.pool, poolAccount(account));
    });
    this.prefixes = new PrefixAllocator(config.stratum.extranonce1Size);
  }

  /** One timer for every session's difficulty: a silent miner is eased without a share to trigger it. */
  onModuleInit(): void {
    const interval = this.config.vardiff.shareIntervalMs;
    if (interval <= 0) return;
    this.tickTimer = setInterval(
      () => {
        const now = Date.now();
        for (const session of this.byId.values()) session.tick(now);
      },
      Math.min(5000, Math.max(100, interval / 2)),
    );
    this.tickTimer.unref();
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<MinerSession> {
    return this.byId.values();
  }

  /** The connection's session, created on its first message (configure may come before subscribe). */
  forConnection(connection: StratumConnection): MinerSession {
    const existing = this.byConnection.get(connection);
    if (existing) return existing;
    const session = new MinerSession(this.newSessionId(), this.prefixes.allocate(), connection, this);
    this.byId.set(session.id, session);
    this.attach(connection, session);
    this.logger.log(`${session.label}: connected`);
    return session;
  }

  existingFor(connection: StratumConnection): MinerSession | undefined {
    return this.byConnection.get(connection);
  }

  /** mining.subscribe: a new session, or the one whose id the miner offers back within the linger time. */
  subscribe(connection: StratumConnection, request: SubscribeRequest): unknown[] {
    const current = this.forConnection(connection);
    const previous = request.sessionId ? this.byId.get(request.sessionId) : undefined;
    if (previous && previous !== current && previous.state !== 'closed' && previous.user && this.mayResume(previous, connection)) {
      // Whatever the new connection negotiated before subscribing carries over.
      this.byConnection.delete(connection);
      current.end();
      previous.resume(connection, current);
      this.attach(connection, previous);
      return previous.subscribeResult();
    }
    if (current.state !== 'connected') {
      // Subscribed already on this connection: answered again, but it does not advance mining, nor is it logged.
      connection.junk('repeated_subscribe');
      return current.subscribeResult();
    }
    const result = current.subscribeResult();
    current.userAgent = request.userAgent || null;
    this.logger.log(
      `${current.label}: subscribed (${request.userAgent || 'no user agent'}), extranonce1 ${current.prefix}, extranonce2 size ${current.extranonce2Size}`,
    );
    return result;
  }

  /** A session belongs to its connection while that is alive and active (resume-policy.ts). */
  private mayResume(previous: MinerSession, connection: StratumConnection): boolean {
    if (resumeVerdict(previous.connection, connection.remoteAddress, Date.now()) === 'resume') return true;
    connection.junk('resume_refused');
    if (connection.firstTime('resume-refused'))
      this.logger.warn(
        `${previous.label}: resume from ${connection.address} refused: the session is live on its own connection; a new session is given`,
      );
    return false;
  }

  resolveUser(name: string): Promise<User | null> {
    return this.users.resolve(name);
  }

  /**
   * Seats the session on a channel of its route's accounts (a name with one route: its accounts). On an
   * SV2 pool with `rig` worker names its rig has a channel of its own, opened as `<account>.<rig>`.
   */
  attachChannel(session: MinerSession, user: User): Channel {
    const route = this.routing.place(session.id, user);
    const label = this.rigChannelLabel(session, user.name, route.accounts);
    const accounts = route.accounts.map((account) => ({ pool: account.pool, account: poolAccount(account, label) }));
    const channel = this.upstream.attach(session, { name: user.name, accounts, minerExtranonce2Size: session.extranonce2Size });
    this.routing.seated(session.id, channel);
    return channel;
  }

  /** The rig label the session's channel is opened for, or null: the account's channel. */
  private rigChannelLabel(session: MinerSession, name: string, accounts: readonly NameAccount[]): string | null {
    const label = accounts.some((account) => rigOwnsChannel(account.pool)) ? workerLabel(session.rig) : null;
    if (label === null) {
      this.rigChannels.release(session);
      return null;
    }
    const taken = this.rigChannels.take(session, name, label);
    if (taken === null && session.connection?.firstTime('rig-channels-full'))
      this.logger.warn(
        `${session.label}: name ${name} has ${MAX_WORKERS_PER_CHANNEL} rigs with a channel of their own on its SV2 pool: rig ${label} mines under the account name`,
      );
    return taken;
  }

  rigSetsChannel(user: User): boolean {
    return routesOf(user).some((route) => route.accounts.some((account) => rigOwnsChannel(account.pool)));
  }

  channelState(session: MinerSession, channel: Channel, up: boolean): void {
    this.routing.channelState(session.id, channel, up);
  }

  /** A route that is down keeps a channel open with a watcher on it (no miner), which tells when it works again. */
  private watchRoute(name: string, routeAccounts: readonly NameAccount[], up: () => void): () => void {
    const prefix = this.prefixes.allocate();
    const accounts = routeAccounts.map((account) => ({ pool: account.pool, account: poolAccount(account) }));
    let stopped = false;
    const watcher: ChannelMember = {
      prefix,
      rig: null,
      channelReady: () => void (stopped || up()),
      channelJob: () => undefined,
      channelDifficulty: () => undefined,
      channelVersionMask: () => undefined,
      channelDown: () => undefined,
      channelUnavailable: () => undefined,
      channelClosed: () => undefined,
    };
    const channel = this.upstream.attach(watcher, { name, accounts });
    return () => {
      if (stopped) return;
      stopped = true;
      this.upstream.detach(watcher, channel);
      this.prefixes.release(prefix);
    };
  }

  /** A name's routes were replaced (management API): its miners are placed again on the new routes. */
  private routesChanged(user: User): void {
    this.routing.forget(user.name);
    let moved = 0;
    for (const session of this.byId.values()) {
      if (session.user?.name !== user.name || session.state !== 'authorized') continue;
      session.user = user;
      session.moveChannel();
      moved++;
    }
    this.routing.countMoves(user.name, moved, 'routes_changed');
  }

  minerExtranonce2Size(): number {
    return this.users.minerExtranonce2Size();
  }

  detachChannel(session: MinerSession, channel: Channel): void {
    this.upstream.detach(session, channel);
  }

  sessionEnded(session: MinerSession): void {
    if (this.byId.get(session.id) === session) {
      this.byId.delete(session.id);
      this.prefixes.release(session.prefix);
    }
    this.accounting.workerEnded(session.id);
    this.routing.leave(session.id);
    this.rigChannels.release(session);
  }

  workerConnected(session: MinerSession): void {
    const info = this.workerInfo(session);
    if (info) this.accounting.workerConnected(info);
  }

  workerDisconnected(session: MinerSession): void {
    this.accounting.workerDisconnected(session.id);
  }

  workerDifficulty(session: MinerSession, difficulty: number): void {
    this.accounting.workerDifficultyChanged(session.id, difficulty);
  }

  shareValid(session: MinerSession, difficulty: number): void {
    this.accounting.shareValid(session.id, difficulty);
  }

  shareForwarded(session: MinerSession, difficulty: number): void {
    this.accounting.shareForwarded(session.id, difficulty);
  }

  shareAnswered(session: MinerSession, difficulty: number, outcome: ShareOutcome, roundTripSeconds?: number): void {
    this.accounting.shareAnswered(session.id, difficulty, outcome, roundTripSeconds);
    // Only names with several routes are tracked: the session's own user tells, with no lookup for the others.
    if (outcome.accepted && session.user?.routes?.length)
      this.routing.credit(session.id, difficulty / (session.user?.pool.algorithm.divider ?? 1));
  }

  blockFound(session: MinerSession, hash: Buffer): void {
    const hashHex = Buffer.from(hash).reverse().toString('hex');
    this.logger.log(`${session.label}: share meets the block target (hash ${hashHex})`);
    const info = this.workerInfo(session);
    if (info) this.accounting.blockFound(info);
  }

  detectAlgorithm(session: MinerSession, header: Buffer, difficulty: number): void {
    const pool = session.user?.pool;
    if (pool) void this.detector.observe(pool.id, pool.address, header, difficulty);
  }

  /** A pool's algorithm changed (detected or set by hand): live sessions and their series follow. */
  private poolChanged(pool: Pool): void {
    this.accounting.poolAlgorithmChanged(pool.address, pool.algorithm.name, pool.algorithm.divider);
    for (const session of this.byId.values()) {
      if (session.user?.pool.id !== pool.id) continue;
      session.user.pool = pool;
      if (session.state === 'authorized') this.workerConnected(session);
    }
  }

  private workerInfo(session: MinerSession): WorkerInfo | null {
    const { user, connection } = session;
    if (!user || !connection) return null;
    const account = session.account;
    return {
      sessionId: session.id,
      sessionTag: session.tag,
      address: connection.address,
      ip: connection.remoteAddress,
      user: user.name,
      rig: session.rig,
      hash: user.pool.algorithm.name,
      pool: account?.pool ?? user.pool.address,
      account: { index: account?.index ?? 0, user: account?.user ?? user.accountUser },
      tls: connection.tls,
      divider: user.pool.algorithm.divider,
      validated: session.validated,
    };
  }

  onModuleDestroy(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    // A copy: ending a session removes it from the map.
    for (const session of Array.from(this.byId.values())) session.end('server-shutdown');
  }

  private attach(connection: StratumConnection, session: MinerSession): void {
    this.byConnection.set(connection, session);
    connection.onClose((reason) => {
      if (this.byConnection.get(connection) !== session) return;
      this.byConnection.delete(connection);
      this.logger.log(`${session.label}: connection closed (${reason})`);
      session.detach(connection, reason);
    });
  }

  private newSessionId(): string {
    for (;;) {
      const id = randomBytes(4).toString('hex');
      if (!this.byId.has(id)) return id;
    }
  }
}

/** How the upstream side logs in with one of a name's accounts: its pool's address, TLS (pinned or verified), login. */
function poolAccount({ pool, accountUser, accountPassword }: NameAccount, rigLabel: string | null = null): PoolAccount {
  const tls = pool.tls ? { fingerprint: pool.tlsFingerprint ?? null } : null;
  return { host: pool.host, port: pool.port, user: channelUser(pool, accountUser, rigLabel), password: accountPassword, tls };
}
