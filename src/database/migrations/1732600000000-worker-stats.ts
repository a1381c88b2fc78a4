import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Per-minute worker statistics (accounting). */
export class WorkerStats1732600000000 implements MigrationInterface {
  name = 'WorkerStats1732600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const count = (name: string) => ({ name, type: 'integer', default: 0 });
    const sum = (name: string) => ({ name, type: 'double precision', default: 0 });
    await queryRunner.createTable(
      new Table({
        name: 'worker_stats',
        columns: [
          { name: 'user_name', type: 'varchar', length: '16', isPrimary: true },
          { name: 'worker', type: 'varchar', length: '128', isPrimary: true },
          { name: 'minute', type: 'bigint', isPrimary: true },
          count('sent'),
          count('accepted'),
          count('rejected'),
          sum('one_sent'),
          sum('one_accepted'),
          sum('one_rejected'),
        ],
        indices: [new TableIndex({ name: 'IDX_worker_stats_minute', columnNames: ['minute'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('worker_stats');
  }
}
