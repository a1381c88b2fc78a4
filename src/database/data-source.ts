// The DataSource the TypeORM CLI uses (re-exported by ormconfig.ts), configured by the same flags/env as the proxy.
import { DataSource } from 'typeorm';
import { parseCommandLine } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';

const request = parseCommandLine([], process.env);
if (request.kind !== 'run') throw new Error('unreachable');

export default new DataSource({ ...dataSourceOptions(request.config.database), migrationsRun: false });
