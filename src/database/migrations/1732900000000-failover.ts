import { MigrationInterface, QueryRunner, Table, TableForeignKey } from 'typeorm';

/**
 * Failover: backup accounts per name, in order, and the extranonce2 size learned from each pool (used to
 * size miners' extranonce2 at subscribe). Through the Table API, so it runs on SQLite and PostgreSQL.
 */
export class Failover1732900000000 implements MigrationInterface {
  name = 'Failover1732900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'user_backups',
        columns: [
          { name: 'user_name', type: 'varchar', length: '16', isPrimary: true },
          { name: 'position', type: 'integer', isPrimary: true },
          { name: 'pool_id', type: 'integer' },
          { name: 'account_user', type: 'varchar', length: '256' },
          { name: 'account_password', type: 'varchar', length: '256' },
        ],
        foreignKeys: [
          new TableForeignKey({
            name: 'FK_user_backups_user',
            columnNames: ['user_name'],
            referencedTableName: 'users',
            referencedColumnNames: ['name'],
            onDelete: 'CASCADE',
          }),
          new TableForeignKey({
            name: 'FK_user_backups_pool',
            columnNames: ['pool_id'],
            referencedTableName: 'pools',
            referencedColumnNames: ['id'],
            onDelete: 'RESTRICT',
          }),
        ],
      }),
    );
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "extranonce2_size" integer NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "extranonce2_size"');
    await queryRunner.dropTable('user_backups');
  }
}
