import { MigrationInterface, QueryRunner } from 'typeorm';

/** How a pool sees a channel's miners: one worker (`account`, as before) or one per rig (`rig`). Plain SQL for both databases. */
export class PoolWorkerNames1733400000000 implements MigrationInterface {
  name = 'PoolWorkerNames1733400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "pools" ADD COLUMN "worker_names" varchar(8) NOT NULL DEFAULT 'account'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "worker_names"');
  }
}
