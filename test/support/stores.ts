import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createTestDatabase, probePostgres } from './postgres.js';

/** A database for one suite, as command-line flags for the proxy. */
export interface TestStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly flags: string[];
  dispose(): Promise<void>;
}

export interface StoreFactory {
  readonly kind: 'sqlite' | 'postgres';
  /** Why this store's suites are skipped, or null when they run. */
  readonly skipReason: string | null;
  create(): Promise<TestStore>;
}

const postgresProbe = await probePostgres();
if (!postgresProbe.available && process.env.REQUIRE_POSTGRES === '1') {
  throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: ${postgresProbe.reason}`);
}

const sqlite: StoreFactory = {
  kind: 'sqlite',
  skipReason: null,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-test-'));
    return {
      kind: 'sqlite',
      flags: [`--db.path=${join(dir, 'proxy.db')}`],
      dispose: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
};

const postgres: StoreFactory = {
  kind: 'postgres',
  skipReason: postgresProbe.available ? null : `PostgreSQL unreachable at ${postgresProbe.adminUrl}: ${postgresProbe.reason}`,
  async create() {
    const database = await createTestDatabase();
    return { kind: 'postgres', flags: [`--db.url=${database.url}`], dispose: database.drop };
  },
};

/** Every store the conformance suites run against: SQLite always, PostgreSQL when reachable (required in CI). */
export const STORES: StoreFactory[] = [sqlite, postgres];

/** describe() for each store (or the given kinds); a skipped store prints why. */
export function describeEachStore(
  title: string,
  body: (factory: StoreFactory) => void,
  kinds: StoreFactory['kind'][] = ['sqlite', 'postgres'],
): void {
  for (const factory of STORES.filter((store) => kinds.includes(store.kind))) {
    if (factory.skipReason) {
      describe.skip(`${title} [${factory.kind}] (skipped: ${factory.skipReason})`, () => body(factory));
      process.stdout.write(`skipping "${title}" on ${factory.kind}: ${factory.skipReason}\n`);
    } else {
      describe(`${title} [${factory.kind}]`, () => body(factory));
    }
  }
}

/** A DataSource on a suite's database, past the app (what someone with the database sees); closed after `use`. */
export async function withDatabase<T>(store: TestStore, use: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const flag = store.flags[0];
  const options = flag.startsWith('--db.url=')
    ? ({ type: 'postgres', url: flag.slice('--db.url='.length) } as const)
    : ({ type: 'better-sqlite3', database: flag.slice('--db.path='.length) } as const);
  const dataSource = await new DataSource(options).initialize();
  try {
    return await use(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
