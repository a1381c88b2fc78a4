import { Module } from '@nestjs/common';
import { PoolsModule } from '../pools/pools.module.js';
import { UsersModule } from '../users/users.module.js';

/** Miner-facing side: the controller for Stratum methods and the sessions (the transport is wired in main). */
@Module({
  imports: [UsersModule, PoolsModule],
})
export class StratumModule {}
