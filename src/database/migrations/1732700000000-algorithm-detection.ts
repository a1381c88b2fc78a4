import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pools of unknown algorithm (--pools.allowUnknown): a placeholder algorithm `unknown`, and the time a
 * pool's algorithm was detected from its shares. Plain SQL that SQLite and PostgreSQL both accept.
 */
export class AlgorithmDetection1732700000000 implements MigrationInterface {
  name = 'AlgorithmDetection1732700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('INSERT INTO "algorithms" ("name", "divider") VALUES (\'unknown\', 1)');
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "detected_at" bigint NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "detected_at"');
    await queryRunner.query('DELETE FROM "algorithms" WHERE "name" = \'unknown\'');
  }
}
