import { createHash } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pool passwords leave the unique index: `users.account_password` now holds a digest of the password (what
 * identifies equal credentials) and the password moves to `users.account_secret`, where it is stored as
 * given or encrypted (see secrets.ts; rows are sealed at start when PROXY_SECRET_KEY is set). Backup
 * passwords get room for the encrypted form.
 */
export class PasswordDigests1733000000000 implements MigrationInterface {
  name = 'PasswordDigests1733000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    await queryRunner.query('ALTER TABLE "users" ADD COLUMN "account_secret" varchar(1024) NULL');
    if (postgres) await queryRunner.query('ALTER TABLE "user_backups" ALTER COLUMN "account_password" TYPE varchar(1024)');
    const run = (sql: string, parameters: Record<string, unknown>) =>
      queryRunner.query(...queryRunner.connection.driver.escapeQueryWithParameters(sql, parameters));
    const rows: { name: string; password: string }[] = await queryRunner.query(
      'SELECT "name", "account_password" AS "password" FROM "users"',
    );
    for (const { name, password } of rows) {
      const digest = `sha256:${createHash('sha256').update(password).digest('hex')}`;
      await run('UPDATE "users" SET "account_secret" = :password, "account_password" = :digest WHERE "name" = :name', {
        password,
        digest,
        name,
      });
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Only passwords stored as given can go back; encrypted ones need the key and are refused here.
    const sealed: unknown[] = await queryRunner.query(`SELECT "name" FROM "users" WHERE "account_secret" LIKE 'enc:%'`);
    if (sealed.length > 0)
      throw new Error('pool passwords are encrypted: start once without PROXY_SECRET_KEY is not possible; decrypt first');
    await queryRunner.query('UPDATE "users" SET "account_password" = "account_secret"');
    await queryRunner.query('ALTER TABLE "users" DROP COLUMN "account_secret"');
  }
}
