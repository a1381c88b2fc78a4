import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ManagementTokenGuard } from '../api/management-token.guard.js';
import { ApiThrottlerGuard } from '../api/rate-limits.js';
import { accountsOf, UsersService } from '../users/users.service.js';
import { AccountingService, mostUsed } from './accounting.service.js';
import { firstStoredMinute, statsSeries } from './stats.controller.js';
import { StatsRecorder } from './stats-recorder.js';

/** The whole farm, for the farm page: what it mines now, and its hashrate over time. Management token. */
@Controller('farm')
@UseGuards(ApiThrottlerGuard, ManagementTokenGuard)
export class FarmController {
  constructor(
    private readonly users: UsersService,
    private readonly accounting: AccountingService,
    private readonly stats: StatsRecorder,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Hashrate, workers, verdicts of the last hour by reason, every pool a registered name uses (up while
   * the proxy holds a connection to it), and per name its hashrate, workers and active account.
   */
  @Get()
  async summary() {
    const summary = this.accounting.farmSummary();
    const workers = this.accounting.workersSnapshot();
    const connected = new Map(summary.pools.map((pool) => [pool.pool, pool]));
    const pools = new Map<string, { pool: string; algorithm: string; up: boolean; connections: number }>();
    const users = [];
    for (const user of await this.users.list()) {
      for (const { pool } of accountsOf(user)) {
        const live = connected.get(pool.address);
        pools.set(pool.address, { pool: pool.address, algorithm: pool.algorithm.name, up: !!live, connections: live?.connections ?? 0 });
      }
      const own = workers.filter((worker) => worker.user === user.name);
      users.push({
        name: user.name,
        pool: user.pool.address,
        hashrate: summary.users[user.name] ?? 0,
        workers: own.length,
        active: mostUsed(own),
      });
    }
    for (const live of summary.pools) if (!pools.has(live.pool)) pools.set(live.pool, { ...live, up: true });
    return { hashrate: summary.hashrate, workers: summary.workers, shares: summary.shares, pools: [...pools.values()], users };
  }

  /** The farm's statistics over time, every name summed: the same shape as a user's. */
  @Get('stats')
  async series(@Query('from') from?: string, @Query('to') to?: string, @Query('step') step?: string) {
    return statsSeries(this.stats, null, await firstStoredMinute(this.dataSource, null), from, to, step);
  }
}
