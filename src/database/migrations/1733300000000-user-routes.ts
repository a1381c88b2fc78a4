import { MigrationInterface, QueryRunner, Table, TableForeignKey } from 'typeorm';

/**
 * Routing by weight (issue 23): route 0 of a name is its own account and backups (its weight in
 * "users"."route_weight", null meaning 100); further routes are rows of "user_routes", one per account
 * (position 0 the route's primary, then its backups), each carrying its route's weight. Through the Table
 * API and plain SQL, so it runs on SQLite and PostgreSQL; existing rows do not change.
 */
export class UserRoutes1733300000000 implements MigrationInterface {
  name = 'UserRoutes1733300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'user_routes',
        columns: [
          { name: 'user_name', type: 'varchar', length: '16', isPrimary: true },
          { name: 'route', type: 'integer', isPrimary: true },
          { name: 'position', type: 'integer', isPrimary: true },
          { name: 'weight', type: 'double precision' },
          { name: 'pool_id', type: 'integer' },
          { name: 'account_user', type: 'varchar', length: '256' },
          { name: 'account_password', type: 'varchar', length: '1024' },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_user_routes_user',
            columnNames: ['user_name'],
            referencedTableName: 'users',
            referencedColumnNames: ['name'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_user_routes_pool',
            columnNames: ['pool_id'],
            referencedTableName: 'pools',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );
    await queryRunner.query('ALTER TABLE "users" ADD COLUMN "route_weight" double precision NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "users" DROP COLUMN "route_weight"');
    await queryRunner.dropTable('user_routes');
  }
}
