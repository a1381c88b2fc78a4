import { Module } from '@nestjs/common';
import { AccountingModule } from '../accounting/accounting.module.js';
import { PoolsModule } from '../pools/pools.module.js';
import { UpstreamChannels } from './channels.service.js';
import { SV2_METRIC_PROVIDERS } from './sv2-metrics.js';

/** Pool-facing side: channels (shared pool connections per account) and the Stratum clients (SV1, SV2) under them. */
@Module({
  imports: [PoolsModule, AccountingModule],
  providers: [UpstreamChannels, ...SV2_METRIC_PROVIDERS],
  exports: [UpstreamChannels],
})
export class UpstreamModule {}
