import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AccountingService } from './accounting.service.js';
import { FarmController } from './farm.controller.js';
import { StatsController, WorkersController } from './stats.controller.js';
import { StatsRecorder } from './stats-recorder.js';
import { RoutingService } from '../upstream/routing/routing.service.js';

/** Share bookkeeping: counters, hashrate windows, per-minute statistics, and their API. */
@Module({
  imports: [UsersModule],
  controllers: [StatsController, WorkersController, FarmController],
  // Routing lives with accounting: it runs on accounting's rates, and the stats API shows its shares.
  providers: [AccountingService, StatsRecorder, RoutingService],
  exports: [AccountingService, RoutingService],
})
export class AccountingModule {}
