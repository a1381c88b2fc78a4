import { MigrationInterface, QueryRunner } from 'typeorm';

/** Pools reached over TLS, optionally pinned to a certificate's SHA-256 fingerprint. Plain SQL for both databases. */
export class PoolTls1733100000000 implements MigrationInterface {
  name = 'PoolTls1733100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "tls" boolean NOT NULL DEFAULT false');
    await queryRunner.query('ALTER TABLE "pools" ADD COLUMN "tls_fingerprint" varchar(64) NULL');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "tls_fingerprint"');
    await queryRunner.query('ALTER TABLE "pools" DROP COLUMN "tls"');
  }
}
