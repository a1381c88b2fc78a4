import { BadRequestException, Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiThrottlerGuard } from '../api/rate-limits.js';
import { ManagementTokenGuard } from '../api/management-token.guard.js';
import { ConfigError, parseDuration } from '../config/flags.js';
import { accountsOf, UsersService } from '../users/users.service.js';
import { userView } from '../users/users.controller.js';
import { AccountingService, mostUsed, WorkerSnapshot } from './accounting.service.js';
import { HASHES_PER_SHARE } from './rate-window.js';
import { MINUTE_MS, StatsRecorder } from './stats-recorder.js';
import { RoutingService } from '../upstream/routing/routing.service.js';

const MAX_POINTS = 10_000;

/** An instant given as ISO-8601 or epoch seconds. */
function parseInstant(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const time = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (!Number.isFinite(time))
    throw new BadRequestException(`${name} must be an ISO-8601 time or epoch seconds, got ${JSON.stringify(value)}`);
  return time;
}

function parseStep(value: string | undefined): number {
  if (value === undefined || value === '') return 5 * MINUTE_MS;
  let step: number;
  try {
    step = parseDuration(value);
  } catch (error) {
    if (error instanceof ConfigError) throw new BadRequestException(`step: ${error.message}`);
    throw error;
  }
  if (step < MINUTE_MS || step % MINUTE_MS !== 0) throw new BadRequestException('step must be a whole number of minutes (1m or more)');
  return step;
}

const HOUR_MS = 60 * MINUTE_MS;

/** What a user's own page shows of a worker: no session id, nothing of other users. */
const publicWorker = ({
  worker,
  rig,
  pool,
  account,
  algorithm,
  difficulty,
  shares,
  hashrate,
  connectedSince,
  lastShare,
}: WorkerSnapshot) => ({
  worker,
  rig,
  account,
  difficulty,
  shares,
  hashrate,
  connectedSince,
  pool,
  algorithm,
  lastShare,
});

@Controller('users')
@UseGuards(ApiThrottlerGuard)
export class StatsController {
  constructor(
    private readonly users: UsersService,
    private readonly accounting: AccountingService,
    private readonly stats: StatsRecorder,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly routing: RoutingService,
  ) {}

  /**
   * A user's registration and its connected workers (never the password), its accepted and rejected shares
   * of the last hour, and its accounts' pools in failover order, up while the proxy holds a connection.
   */
  @Get(':name')
  async get(@Param('name') name: string) {
    const user = await this.users.find(name);
    if (!user) throw new NotFoundException(`user ${name} does not exist`);
    const workers = this.accounting.workersSnapshot().filter((worker) => worker.user === user.name);
    const connected = new Set(this.accounting.farmSummary().pools.map((pool) => pool.pool));
    const view = userView(user);
    const active = mostUsed(workers);
    const routed = this.routing.view(user);
    return {
      ...view,
      // Each route as registered, with its active account (the one its miners mine on now), its measured
      // part of the name's work over the routing period (share, 0..1) and its miners' hashrate.
      routes: view.routes.map((route, i) => ({
        ...route,
        active: routed[i].active ?? (routed.length === 1 && active ? { pool: active.pool, user: active.user } : null),
        share: routed[i].share,
        hashrate: routed[i].hashrate,
      })),
      active,
      hashrate: this.accounting.userHashrate(user.name),
      workers: workers.map(publicWorker),
      shares: await lastHourShares(this.stats, user.name),
      pools: accountsOf(user).map(({ pool }, index) => ({
        pool: pool.address,
        algorithm: pool.algorithm.name,
        index,
        up: connected.has(pool.address),
      })),
    };
  }

  /** A time series of shares, difficulty-1 shares and hashrate, from stored and not yet flushed statistics. */
  @Get(':name/stats')
  async series(
    @Param('name') name: string,
    @Query('from') fromText?: string,
    @Query('to') toText?: string,
    @Query('step') stepText?: string,
  ) {
    const user = await this.users.find(name);
    if (!user) throw new NotFoundException(`user ${name} does not exist`);
    const firstStored = await firstStoredMinute(this.dataSource, user.name);
    return { name: user.name, ...(await statsSeries(this.stats, user.name, firstStored, fromText, toText, stepText)) };
  }
}

/** Accepted and rejected shares of the last 60 minutes (the current one included), as the farm counts them. */
async function lastHourShares(stats: Pick<StatsRecorder, 'rows'>, userName: string, now = Date.now()) {
  const minute = now - (now % MINUTE_MS);
  const shares = { accepted: 0, rejected: 0 };
  for (const row of await stats.rows(userName, minute - HOUR_MS + MINUTE_MS, minute + MINUTE_MS)) {
    shares.accepted += row.accepted;
    shares.rejected += row.rejected;
  }
  return shares;
}

/** The first minute with stored statistics of a user (every user's with null); null when there are none. */
export async function firstStoredMinute(dataSource: DataSource, userName: string | null): Promise<number | null> {
  const query = dataSource.createQueryBuilder().select('s.minute', 'minute').from('worker_stats', 's').orderBy('s.minute', 'ASC').limit(1);
  if (userName !== null) query.where('s.user_name = :userName', { userName });
  const row = await query.getRawOne<{ minute: string | number }>();
  return row ? Number(row.minute) : null;
}

/**
 * The statistics of one user (every user with null), summed per step: the users' and the farm's series.
 * A point's hashrate is its work over the seconds of its step that have passed: the step in progress is
 * averaged over its elapsed time, not its whole length, so the newest point does not dip. `dataSince` is
 * the first minute with statistics, in the range or before it (`firstStored`: the first in the database).
 */
export async function statsSeries(
  stats: Pick<StatsRecorder, 'rows'>,
  userName: string | null,
  firstStored: number | null,
  fromText?: string,
  toText?: string,
  stepText?: string,
  now = Date.now(),
) {
  const step = parseStep(stepText);
  const to = parseInstant('to', toText, now);
  const from = parseInstant('from', fromText, to - 60 * MINUTE_MS);
  if (from >= to) throw new BadRequestException('from must be before to');
  const start = from - (from % MINUTE_MS);
  const count = Math.ceil((to - start) / step);
  if (count > MAX_POINTS) throw new BadRequestException(`that is ${count} points; at most ${MAX_POINTS} (use a larger step)`);
  const points = Array.from({ length: count }, (_, i) => ({
    time: new Date(start + i * step).toISOString(),
    shares: { sent: 0, accepted: 0, rejected: 0 },
    difficultyOneShares: { sent: 0, accepted: 0, rejected: 0 },
    hashrate: 0,
  }));
  let first = firstStored;
  for (const row of await stats.rows(userName, start, start + count * step)) {
    if (first === null || row.minute < first) first = row.minute;
    const point = points[Math.floor((row.minute - start) / step)];
    point.shares.sent += row.sent;
    point.shares.accepted += row.accepted;
    point.shares.rejected += row.rejected;
    point.difficultyOneShares.sent += row.oneSent;
    point.difficultyOneShares.accepted += row.oneAccepted;
    point.difficultyOneShares.rejected += row.oneRejected;
  }
  points.forEach((point, i) => {
    const elapsed = Math.min(step, now - (start + i * step)) / 1000;
    point.hashrate = elapsed > 0 ? (HASHES_PER_SHARE * point.difficultyOneShares.accepted) / elapsed : 0;
  });
  return {
    from: new Date(start).toISOString(),
    to: new Date(start + count * step).toISOString(),
    step: step / 1000,
    dataSince: first === null ? null : new Date(first).toISOString(),
    points,
  };
}

@Controller('workers')
@UseGuards(ApiThrottlerGuard)
export class WorkersController {
  constructor(private readonly accounting: AccountingService) {}

  /** Connected workers, from a snapshot refreshed about once a second. */
  @Get()
  @UseGuards(ManagementTokenGuard)
  list(): WorkerSnapshot[] {
    return this.accounting.workersSnapshot();
  }
}
