import { DynamicModule, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AccountingModule } from './accounting/accounting.module.js';
import { ApiModule } from './api/api.module.js';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PoolsModule } from './pools/pools.module.js';
import { StratumModule } from './stratum/stratum.module.js';
import { UsersModule } from './users/users.module.js';
import { WebModule } from './web/web.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, dataSource: DataSource): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ApiModule,
        DatabaseModule.forDataSource(dataSource),
        MetricsModule,
        HealthModule,
        PoolsModule,
        UsersModule,
        AccountingModule,
        StratumModule,
        WebModule.forRoot(config.webUi),
      ],
    };
  }
}
