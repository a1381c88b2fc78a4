import { MigrationInterface, QueryRunner, Table, TableCheck, TableForeignKey, TableIndex, TableUnique } from 'typeorm';
import { SEED_ALGORITHMS } from '../seed-algorithms.js';
import { SEED_POOLS } from '../seed-pools.js';

/** Algorithms, pools and users, with the original's pool list. Built through the Table API, so one set runs on SQLite and PostgreSQL. */
export class InitialSchema1732500000000 implements MigrationInterface {
  name = 'InitialSchema1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const id = { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    await queryRunner.createTable(
      new Table({
        name: 'algorithms',
        columns: [id, { name: 'name', type: 'varchar', length: '64' }, { name: 'divider', type: 'double precision' }],
        uniques: [new TableUnique({ name: 'UQ_algorithms_name', columnNames: ['name'] })],
        checks: [new TableCheck({ name: 'CHK_algorithms_divider', expression: '"divider" > 0' })],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'pools',
        columns: [
          id,
          { name: 'host', type: 'varchar', length: '255' },
          { name: 'port', type: 'integer' },
          { name: 'algorithm_id', type: 'integer' },
        ],
        uniques: [new TableUnique({ name: 'UQ_pools_host_port', columnNames: ['host', 'port'] })],
        checks: [new TableCheck({ name: 'CHK_pools_port', expression: '"port" >= 1 AND "port" <= 65535' })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_pools_algorithm',
            columnNames: ['algorithm_id'],
            referencedTableName: 'algorithms',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          { name: 'name', type: 'varchar', length: '16', isPrimary: true },
          { name: 'pool_id', type: 'integer' },
          { name: 'account_user', type: 'varchar', length: '256' },
          { name: 'account_password', type: 'varchar', length: '256' },
          { name: 'created_at', type: 'bigint' },
          { name: 'last_seen_at', type: 'bigint', isNullable: true },
        ],
        uniques: [new TableUnique({ name: 'UQ_users_credentials', columnNames: ['pool_id', 'account_user', 'account_password'] })],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_users_pool',
            columnNames: ['pool_id'],
            referencedTableName: 'pools',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
        indices: [new TableIndex({ name: 'IDX_users_last_seen_at', columnNames: ['last_seen_at'] })],
      }),
    );

    // Named parameters escaped by the driver: `?` on SQLite, `$n` on PostgreSQL.
    const run = (sql: string, parameters: Record<string, unknown>) =>
      queryRunner.query(...queryRunner.connection.driver.escapeQueryWithParameters(sql, parameters));
    for (const [name, divider] of SEED_ALGORITHMS) {
      await run('INSERT INTO "algorithms" ("name", "divider") VALUES (:name, :divider)', { name, divider });
    }
    for (const [host, port, algorithm] of SEED_POOLS) {
      await run(
        'INSERT INTO "pools" ("host", "port", "algorithm_id") SELECT :host, :port, "id" FROM "algorithms" WHERE "name" = :algorithm',
        { host: host.toLowerCase(), port, algorithm },
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('users');
    await queryRunner.dropTable('pools');
    await queryRunner.dropTable('algorithms');
  }
}
