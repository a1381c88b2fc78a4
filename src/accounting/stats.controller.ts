import { BadRequestException, Controller, Get, NotFoundException, Param, Query, UseGuards } from '@nestjs/common';
import { ApiThrottlerGuard } from '../api/rate-limits.js';
import { ManagementTokenGuard } from '../api/management-token.guard.js';
import { ConfigError, parseDuration } from '../config/flags.js';
import { UsersService } from '../users/users.service.js';
import { userView } from '../users/users.controller.js';
import { AccountingService, mostUsed, WorkerSnapshot } from './accounting.service.js';
import { HASHES_PER_SHARE } from './rate-window.js';
import { MINUTE_MS, StatsRecorder } from './stats-recorder.js';

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

const publicWorker = ({ worker, rig, account, difficulty, shares, hashrate, connectedSince }: WorkerSnapshot) => ({
  worker,
  rig,
  account,
  difficulty,
  shares,
  hashrate,
  connectedSince,
});

@Controller('users')
@UseGuards(ApiThrottlerGuard)
export class StatsController {
  constructor(
    private readonly users: UsersService,
    private readonly accounting: AccountingService,
    private readonly stats: StatsRecorder,
  ) {}

  /** A user's registration and its connected workers (never the password). */
  @Get(':name')
  async get(@Param('name') name: string) {
    const user = await this.users.find(name);
    if (!user) throw new NotFoundException(`user ${name} does not exist`);
    const workers = this.accounting.workersSnapshot().filter((worker) => worker.user === user.name);
    return {
      ...userView(user),
      active: mostUsed(workers),
      hashrate: this.accounting.userHashrate(user.name),
      workers: workers.map(publicWorker),
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
    return { name: user.name, ...(await statsSeries(this.stats, user.name, fromText, toText, stepText)) };
  }
}

/** The statistics of one user (every user with null), summed per step: the users' and the farm's series. */
export async function statsSeries(stats: StatsRecorder, userName: string | null, fromText?: string, toText?: string, stepText?: string) {
  const step = parseStep(stepText);
  const to = parseInstant('to', toText, Date.now());
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
  for (const row of await stats.rows(userName, start, start + count * step)) {
    const point = points[Math.floor((row.minute - start) / step)];
    point.shares.sent += row.sent;
    point.shares.accepted += row.accepted;
    point.shares.rejected += row.rejected;
    point.difficultyOneShares.sent += row.oneSent;
    point.difficultyOneShares.accepted += row.oneAccepted;
    point.difficultyOneShares.rejected += row.oneRejected;
  }
  for (const point of points) point.hashrate = (HASHES_PER_SHARE * point.difficultyOneShares.accepted) / (step / 1000);
  return { from: new Date(start).toISOString(), to: new Date(start + count * step).toISOString(), step: step / 1000, points };
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
