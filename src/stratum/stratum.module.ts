import { Module } from '@nestjs/common';
import { AccountingModule } from '../accounting/accounting.module.js';
import { PoolsModule } from '../pools/pools.module.js';
import { UpstreamModule } from '../upstream/upstream.module.js';
import { UsersModule } from '../users/users.module.js';
import { MinerSessions } from './session/miner-sessions.service.js';
import { StratumController } from './stratum.controller.js';

/** Miner-facing side: the Stratum methods and the sessions (the transport itself is wired in bootstrap). */
@Module({
  imports: [UsersModule, PoolsModule, AccountingModule, UpstreamModule],
  controllers: [StratumController],
  providers: [MinerSessions],
  exports: [MinerSessions],
})
export class StratumModule {}
