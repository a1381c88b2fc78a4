import type { DataSource } from 'typeorm';
import { SecretBox, SecretKeyError } from './secrets.js';

/** The database cannot be used as it is; the message is for the operator. */
export class AtRestError extends Error {}

/** What sealing did at start, for one log line. */
export interface SealReport {
  readonly sealed: number;
  readonly resealed: number;
  readonly plain: number;
}

/**
 * Brings every stored pool password in line with the key in force: encrypted with it (PROXY_SECRET_KEY),
 * re-encrypted from the previous key (PROXY_SECRET_KEY_PREVIOUS), and the digests recomputed. Fails with a
 * clear message when an encrypted password cannot be opened (no key, or a wrong one).
 */
export async function sealPasswords(dataSource: DataSource, box: SecretBox, previous: SecretBox | null): Promise<SealReport> {
  const run = (sql: string, parameters: Record<string, unknown>) =>
    dataSource.query(...dataSource.driver.escapeQueryWithParameters(sql, parameters));
  const open = (stored: string): { plain: string; reseal: boolean } => {
    try {
      return { plain: box.open(stored), reseal: false };
    } catch (error) {
      if (!(error instanceof SecretKeyError)) throw error;
      if (previous?.hasKey) {
        try {
          return { plain: previous.open(stored), reseal: true };
        } catch {
          // neither opens it: reported below
        }
      }
      throw new AtRestError(
        box.hasKey
          ? 'PROXY_SECRET_KEY does not decrypt the stored pool passwords (wrong key?); after changing it, give the old one in PROXY_SECRET_KEY_PREVIOUS'
          : 'the stored pool passwords are encrypted: start with PROXY_SECRET_KEY set to the key they were encrypted with',
      );
    }
  };
  let sealed = 0;
  let resealed = 0;
  let plain = 0;
  const target = (stored: string) => {
    const opened = open(stored);
    const keep = box.hasKey ? SecretBox.isSealed(stored) && !opened.reseal : !SecretBox.isSealed(stored);
    if (!keep) {
      if (opened.reseal) resealed++;
      else if (box.hasKey) sealed++;
    }
    if (!box.hasKey) plain++;
    return { plain: opened.plain, stored: keep ? stored : box.seal(opened.plain) };
  };
  const users: { name: string; secret: string; digest: string }[] = await dataSource.query(
    'SELECT "name", "account_secret" AS "secret", "account_password" AS "digest" FROM "users"',
  );
  for (const user of users) {
    const { plain: password, stored } = target(user.secret);
    const digest = box.digest(password);
    if (stored !== user.secret || digest !== user.digest)
      await run('UPDATE "users" SET "account_secret" = :stored, "account_password" = :digest WHERE "name" = :name', {
        stored,
        digest,
        name: user.name,
      });
  }
  const backups: { name: string; position: number; secret: string }[] = await dataSource.query(
    'SELECT "user_name" AS "name", "position", "account_password" AS "secret" FROM "user_backups"',
  );
  for (const backup of backups) {
    const { stored } = target(backup.secret);
    if (stored !== backup.secret)
      await run('UPDATE "user_backups" SET "account_password" = :stored WHERE "user_name" = :name AND "position" = :position', {
        stored,
        name: backup.name,
        position: backup.position,
      });
  }
  return { sealed, resealed, plain };
}
