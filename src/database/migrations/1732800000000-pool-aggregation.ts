import { MigrationInterface, QueryRunner } from 'typeorm';

/** A pool's own limit of miners per pool connection (null: --upstream.aggregation). Plain SQL for both databases. */
export class PoolAggregation1732800000000 implements MigrationInterface {
  name = 'PoolAggregation1732800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "aggregation" integer NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "aggregation"');
  }
}
