import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/app-config.js';
import { Algorithm } from '../pools/algorithm.entity.js';
import { Pool } from '../pools/pool.entity.js';
import { User } from '../users/user.entity.js';
import { UserBackup } from '../users/user-backup.entity.js';
import { UserRoute } from '../users/user-route.entity.js';
import { WorkerStat } from '../accounting/worker-stat.entity.js';
import { InitialSchema1732500000000 } from './migrations/1732500000000-initial-schema.js';
import { WorkerStats1732600000000 } from './migrations/1732600000000-worker-stats.js';
import { AlgorithmDetection1732700000000 } from './migrations/1732700000000-algorithm-detection.js';
import { PoolAggregation1732800000000 } from './migrations/1732800000000-pool-aggregation.js';
import { Failover1732900000000 } from './migrations/1732900000000-failover.js';
import { PasswordDigests1733000000000 } from './migrations/1733000000000-password-digests.js';
import { PoolTls1733100000000 } from './migrations/1733100000000-pool-tls.js';
import { PoolProtocol1733200000000 } from './migrations/1733200000000-pool-protocol.js';
import { UserRoutes1733300000000 } from './migrations/1733300000000-user-routes.js';
import { PoolWorkerNames1733400000000 } from './migrations/1733400000000-pool-worker-names.js';
import { postgresConnectionUrl } from './postgres-connection.js';

export const ENTITIES = [Algorithm, Pool, User, UserBackup, UserRoute, WorkerStat];
export const MIGRATIONS = [
  InitialSchema1732500000000,
  WorkerStats1732600000000,
  AlgorithmDetection1732700000000,
  PoolAggregation1732800000000,
  Failover1732900000000,
  PasswordDigests1733000000000,
  PoolTls1733100000000,
  PoolProtocol1733200000000,
  UserRoutes1733300000000,
  PoolWorkerNames1733400000000,
];

/** One options object for Nest and the TypeORM CLI: migrations run at start, never `synchronize`. */
export function dataSourceOptions(database: AppConfig['database']): DataSourceOptions {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, migrationsRun: true, synchronize: false, logging: false } as const;
  if (database.type === 'postgres') {
    return {
      ...common,
      type: 'postgres',
      url: postgresConnectionUrl(database.url, database.password),
      connectTimeoutMS: 10_000,
      extra: { max: 10 },
    };
  }
  return {
    ...common,
    type: 'better-sqlite3',
    database: database.path,
    enableWAL: true,
    // Another process (or the CLI) holding the write lock gets 5 s before SQLITE_BUSY.
    timeout: 5000,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = NORMAL');
    },
  };
}
