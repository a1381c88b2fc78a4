import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import type { PoolConnection, PoolConnectionListener } from '../../pools/upstream/pool-connection.js';
import { AccountingService, ShareOutcome, WorkerInfo } from '../../accounting/accounting.service.js';
import { AlgorithmDetector } from '../../pools/algorithms/algorithm-detector.js';
import { PoolChanges } from '../../pools/pool-changes.js';
import type { Pool } from '../../pools/pool.entity.js';
import { UpstreamService } from '../../pools/upstream/upstream.service.js';
import type { User } from '../../users/user.entity.js';
import { UsersService } from '../../users/users.service.js';
import type { SubscribeRequest } from '../protocol/miner-messages.js';
import type { StratumConnection } from '../transport/stratum-connection.js';
import { MinerSession, SessionHost } from './miner-session.js';

/** The registry of miner sessions: by connection (live) and by session id (for resume). */
@Injectable()
export class MinerSessions implements SessionHost, OnModuleDestroy {
  private readonly logger = new Logger(MinerSessions.name);
  private readonly byId = new Map<string, MinerSession>();
  private readonly byConnection = new Map<StratumConnection, MinerSession>();

  constructor(
    @Inject(APP_CONFIG) readonly config: AppConfig,
    private readonly users: UsersService,
    private readonly upstream: UpstreamService,
    private readonly accounting: AccountingService,
    private readonly detector: AlgorithmDetector,
    poolChanges: PoolChanges,
  ) {
    poolChanges.subscribe((pool) => this.poolChanged(pool));
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
    const session = new MinerSession(
      this.newSessionId(),
      randomBytes(this.config.stratum.extranonce1Size).toString('hex'),
      connection,
      this,
    );
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
    if (previous && previous !== current && previous.state !== 'closed' && previous.user) {
      // Whatever the new connection negotiated before subscribing carries over.
      this.byConnection.delete(connection);
      current.end();
      previous.resume(connection, current);
      this.attach(connection, previous);
      return previous.subscribeResult();
    }
    const result = current.subscribeResult();
    this.logger.log(
      `${current.label}: subscribed (${request.userAgent || 'no user agent'}), extranonce1 ${current.prefix}, extranonce2 size ${current.extranonce2Size}`,
    );
    return result;
  }

  resolveUser(name: string): Promise<User | null> {
    return this.users.resolve(name);
  }

  connectPool(session: MinerSession, user: User, versionRollingMask: number | null, listener: PoolConnectionListener): PoolConnection {
    const account = { host: user.pool.host, port: user.pool.port, user: user.accountUser, password: user.accountPassword };
    return this.upstream.connect(account, versionRollingMask, listener, `session ${session.id}`);
  }

  releasePool(connection: PoolConnection): void {
    this.upstream.release(connection);
  }

  sessionEnded(session: MinerSession): void {
    if (this.byId.get(session.id) === session) this.byId.delete(session.id);
    this.accounting.workerEnded(session.id);
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

  shareForwarded(session: MinerSession, difficulty: number): void {
    this.accounting.shareForwarded(session.id, difficulty);
  }

  shareAnswered(session: MinerSession, difficulty: number, outcome: ShareOutcome, roundTripSeconds?: number): void {
    this.accounting.shareAnswered(session.id, difficulty, outcome, roundTripSeconds);
  }

  poolStatus(session: MinerSession, status: 'up' | 'down' | 'failed' | 'refused'): void {
    const pool = session.user?.pool;
    if (!pool) return;
    if (status === 'up') {
      this.accounting.upstreamConnectAttempt(pool.address, 'success');
      this.accounting.poolConnected(pool.address, pool.algorithm.name, pool.algorithm.divider);
    } else if (status === 'down') {
      this.accounting.poolDisconnected(pool.address);
    } else {
      this.accounting.upstreamConnectAttempt(pool.address, status === 'failed' ? 'failure' : 'refused');
    }
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

  poolProtocolError(_session: MinerSession, kind: string): void {
    this.accounting.protocolError('pool', kind);
  }

  private workerInfo(session: MinerSession): WorkerInfo | null {
    const { user, connection } = session;
    if (!user || !connection) return null;
    return {
      sessionId: session.id,
      address: connection.address,
      ip: connection.remoteAddress,
      user: user.name,
      rig: session.rig,
      hash: user.pool.algorithm.name,
      pool: user.pool.address,
      divider: user.pool.algorithm.divider,
    };
  }

  onModuleDestroy(): void {
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
