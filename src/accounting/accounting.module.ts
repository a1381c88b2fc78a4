import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { AccountingService } from './accounting.service.js';
import { FarmController } from './farm.controller.js';
import { StatsController, WorkersController } from './stats.controller.js';
import { StatsRecorder } from './stats-recorder.js';

/** Share bookkeeping: counters, hashrate windows, per-minute statistics, and their API. */
@Module({
  imports: [UsersModule],
  controllers: [StatsController, WorkersController, FarmController],
  providers: [AccountingService, StatsRecorder],
  exports: [AccountingService],
})
export class AccountingModule {}
