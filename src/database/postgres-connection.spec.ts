import pg from 'pg';
import { DriverUtils } from 'typeorm/driver/DriverUtils.js';
import { parseCommandLine } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';
import { postgresConnectionUrl } from './postgres-connection.js';

/** What node-postgres connects with, from a connection string (its own parser, as the pool uses it). */
const pgParameters = (url: string) => {
  const client = new pg.Client({ connectionString: url });
  const parameters = (
    client as unknown as { connectionParameters: { user: string; password: string; host: string; port: number; database: string } }
  ).connectionParameters;
  return {
    user: parameters.user,
    password: parameters.password,
    host: parameters.host,
    port: parameters.port,
    database: parameters.database,
  };
};

const HARD = ['p@ss/w:rd#1', '%41%25', 'a b+c&d=e?f;g', 'üñí€😀', `'"\\\`$(x)`, ':@/#?[]'];

describe('postgresConnectionUrl', () => {
  it.each(HARD)('carries the exact password %j to node-postgres, the rest of the URL unchanged', (password) => {
    const url = postgresConnectionUrl('postgres://proxy@db.example:5433/proxy', password);
    expect(pgParameters(url)).toEqual({ user: 'proxy', password, host: 'db.example', port: 5433, database: 'proxy' });
    // TypeORM reads the database name from the same URL.
    expect(DriverUtils.buildDriverOptions({ url })).toMatchObject({ username: 'proxy', password, host: 'db.example', database: 'proxy' });
  });

  it("replaces the URL's own password and keeps its query", () => {
    const url = postgresConnectionUrl('postgresql://proxy:old@[::1]:5432/proxy?sslmode=disable&application_name=p', 'n#w');
    expect(pgParameters(url)).toMatchObject({ password: 'n#w', host: '::1', database: 'proxy' });
    expect(new URL(url).searchParams.get('sslmode')).toBe('disable');
  });

  it('leaves the URL as it is without a separate password', () => {
    expect(postgresConnectionUrl('postgres://proxy:p%40ss@db/proxy', undefined)).toBe('postgres://proxy:p%40ss@db/proxy');
    expect(postgresConnectionUrl('postgres://proxy@db/proxy', '')).toBe('postgres://proxy@db/proxy');
  });
});

describe('the database connection from flags and environment', () => {
  const options = (argv: string[], env: NodeJS.ProcessEnv) => {
    const request = parseCommandLine(argv, env);
    if (request.kind !== 'run') throw new Error('expected run');
    return { config: request.config, options: dataSourceOptions(request.config.database) as { url: string } };
  };

  it('reads DATABASE_PASSWORD apart from DATABASE_URL (any characters) and gives it to the connection', () => {
    const { config, options: result } = options([], {
      DATABASE_URL: 'postgres://proxy@postgres:5432/proxy',
      DATABASE_PASSWORD: 'p@ss/w:rd#1',
    });
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://proxy@postgres:5432/proxy', password: 'p@ss/w:rd#1' });
    expect(pgParameters(result.url)).toMatchObject({ user: 'proxy', password: 'p@ss/w:rd#1', host: 'postgres', database: 'proxy' });
  });

  it('takes --db.password over the environment, like every flag', () => {
    const { options: result } = options(['--db.password=fl@g'], { DATABASE_URL: 'postgres://proxy@h/proxy', DATABASE_PASSWORD: 'env' });
    expect(pgParameters(result.url).password).toBe('fl@g');
  });

  it('connects with the URL alone when no password is given apart', () => {
    const { config, options: result } = options([], { DATABASE_URL: 'postgres://proxy:p%40ss@h/proxy' });
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://proxy:p%40ss@h/proxy' });
    expect(pgParameters(result.url).password).toBe('p@ss');
  });
});
