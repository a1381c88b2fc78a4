import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { SecretBox, SecretKeyError } from './secrets.js';

/** The database cannot be used as it is; the message is for the operator. */
export class AtRestError extends Error {}

/** A lock on a SQLite file, held while the proxy runs. */
export interface FileLock {
  release(): void;
}

/**
 * Before SQLite opens its file: the file is readable by its owner only (it holds pool passwords), and one
 * process at a time uses it (a second proxy on the same file would double-count statistics). The lock is a
 * `<file>.lock` holding the pid; a lock whose process is gone is taken over.
 */
export function prepareSqliteFile(path: string): { lock: FileLock; tightened: boolean } {
  if (path === ':memory:' || path === '') return { lock: { release: () => undefined }, tightened: false };
  const lockPath = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new AtRestError(`cannot lock ${lockPath}: ${(error as Error).message}`);
      const holder = Number(readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder))
        throw new AtRestError(
          `another proxy (pid ${holder}) is using the SQLite database ${path}; SQLite serves one instance (use PostgreSQL for several)`,
        );
      unlinkSync(lockPath); // left by a process that is gone
    }
  }
  let tightened = false;
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  else if ((statSync(path).mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    tightened = true;
  }
  let held = true;
  return {
    tightened,
    lock: {
      release: () => {
        if (!held) return;
        held = false;
        try {
          if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      },
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
