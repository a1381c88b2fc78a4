import { MigrationInterface, QueryRunner } from 'typeorm';

/** Pools that speak Stratum V2, with the authority key that signs their certificates. Plain SQL for both databases. */
export class PoolProtocol1733200000000 implements MigrationInterface {
  name = 'PoolProtocol1733200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "pools" ADD COLUMN "protocol" varchar(8) NOT NULL DEFAULT 'sv1'`);
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "authority_pubkey" varchar(128) NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "authority_pubkey"');
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "protocol"');
  }
}
