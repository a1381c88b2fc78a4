// The SQLite file on disk: checked before anything is made, locked to one process, and removed again when
// the start fails, so that a failed first start leaves the directory as it found it.
import { closeSync, openSync, readFileSync, statSync, Stats, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AtRestError } from './at-rest.js';

/** A lock on a SQLite file, held while the proxy runs. */
export interface FileLock {
  /** The start succeeded: what it created stays, and release() only unlocks. */
  keep(): void;
  /** Unlocks; before keep(), also removes what this run created (the database file, its journals, the lock). */
  release(): void;
}

export const NO_FILE_LOCK: FileLock = { keep: () => undefined, release: () => undefined };

/** Files SQLite makes beside the database: WAL mode's log and shared memory, the rollback journal. */
const JOURNALS = ['-wal', '-shm', '-journal'];

/**
 * Before SQLite opens its file. The path must name a file in an existing directory; nothing is created or
 * changed until that is known. A new file is created readable by its owner only (it holds pool passwords);
 * the mode of an existing one is the operator's: it is never changed, only warned about. One process at a
 * time uses the file (a second proxy would double-count statistics): `<file>.lock` holds the pid, and a lock
 * whose process is gone is taken over.
 */
export function prepareSqliteFile(path: string): { lock: FileLock; warning: string | null } {
  if (path === ':memory:' || path === '') return { lock: NO_FILE_LOCK, warning: null };
  const existing = statOrNull(path);
  if (existing?.isDirectory())
    throw new AtRestError(`it is a directory; --db.path (DB_PATH) names the database file, e.g. ${join(path, 'proxy.db')}`);
  if (existing && !existing.isFile()) throw new AtRestError('it is not a regular file; --db.path (DB_PATH) names the database file');
  if (!existing) {
    const parent = dirname(resolve(path));
    const folder = statOrNull(parent);
    if (!folder)
      throw new AtRestError(
        `the directory ${parent} does not exist; create it (mkdir -p ${parent}) or give a --db.path (DB_PATH) in an existing one`,
      );
    if (!folder.isDirectory()) throw new AtRestError(`${parent} is not a directory`);
  }

  const lockPath = `${path}.lock`;
  takeLock(lockPath, path);
  // Removed if the start fails, newest first; the journals only with a database this run created, since
  // those of an existing one may hold its last transactions (and SQLite removes them itself on a clean close).
  const created: string[] = [];
  let warning: string | null = null;
  if (!existing) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (error) {
      unlinkQuietly(lockPath);
      throw new AtRestError(`cannot create ${path}: ${(error as Error).message}`);
    }
    created.push(path, ...JOURNALS.map((suffix) => path + suffix).filter((file) => !statOrNull(file)));
  } else if ((existing.mode & 0o077) !== 0) {
    const mode = (existing.mode & 0o777).toString(8).padStart(4, '0');
    warning = `${path} has mode ${mode}: users other than its owner can open it, and it holds the pool passwords (chmod 600 ${path})`;
  }

  let held = true;
  let kept = false;
  return {
    warning,
    lock: {
      keep: () => {
        kept = true;
      },
      release: () => {
        if (!held) return;
        held = false;
        if (!kept) for (const file of created.reverse()) unlinkQuietly(file);
        try {
          if (readFileSync(lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      },
    },
  };
}

function takeLock(lockPath: string, path: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
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
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new AtRestError(`a part of ${path} is a file, not a directory`);
    throw new AtRestError((error as Error).message);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there (SQLite never made it, or removed it on close)
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
