import { Module } from '@nestjs/common';
import { AccountingModule } from '../accounting/accounting.module.js';
import { PoolsModule } from '../pools/pools.module.js';
import { UpstreamChannels } from './channels.service.js';

/** Pool-facing side: channels (shared pool connections per account) and the Stratum client under them. */
@Module({
  imports: [PoolsModule, AccountingModule],
  providers: [UpstreamChannels],
  exports: [UpstreamChannels],
})
export class UpstreamModule {}
