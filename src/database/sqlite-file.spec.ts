import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtRestError } from './at-rest.js';
import { prepareSqliteFile } from './sqlite-file.js';

describe('prepareSqliteFile', () => {
  let dir: string;
  const mode = (path: string) => statSync(path).mode & 0o777;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sqlite-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory without changing its mode or creating anything, and names the file to give instead', () => {
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o755 });
    writeFileSync(join(data, 'other-file'), 'x', { mode: 0o644 });
    expect(() => prepareSqliteFile(data)).toThrow(AtRestError);
    expect(() => prepareSqliteFile(data)).toThrow(`it is a directory; --db.path (DB_PATH) names the database file, e.g. ${data}/proxy.db`);
    expect(mode(data)).toBe(0o755);
    expect(mode(join(data, 'other-file'))).toBe(0o644);
    expect(readdirSync(data)).toEqual(['other-file']);
    expect(readdirSync(dir)).toEqual(['data']);
  });

  it('refuses a path whose directory does not exist, and one through a file', () => {
    const missing = join(dir, 'nowhere', 'proxy.db');
    expect(() => prepareSqliteFile(missing)).toThrow(`the directory ${join(dir, 'nowhere')} does not exist; create it`);
    writeFileSync(join(dir, 'plain'), '');
    expect(() => prepareSqliteFile(join(dir, 'plain', 'proxy.db'))).toThrow(/is a file, not a directory/);
    expect(readdirSync(dir)).toEqual(['plain']);
  });

  it('creates a new file readable by its owner only, and a failed start removes it, its journals and the lock', () => {
    const path = join(dir, 'proxy.db');
    const { lock, warning } = prepareSqliteFile(path);
    expect(warning).toBeNull();
    expect(mode(path)).toBe(0o600);
    expect(existsSync(`${path}.lock`)).toBe(true);
    // What SQLite makes beside it while migrating.
    for (const suffix of ['-wal', '-shm', '-journal']) writeFileSync(path + suffix, '');
    writeFileSync(join(dir, 'unrelated'), '');
    lock.release();
    expect(readdirSync(dir)).toEqual(['unrelated']);
  });

  it('keeps what a successful start created, and only unlocks at stop', () => {
    const path = join(dir, 'proxy.db');
    const { lock } = prepareSqliteFile(path);
    lock.keep();
    lock.release();
    expect(readdirSync(dir)).toEqual(['proxy.db']);
  });

  it('leaves the mode of an existing file alone and warns when others can open it; a failed start keeps the file', () => {
    const path = join(dir, 'proxy.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const { lock, warning } = prepareSqliteFile(path);
    expect(warning).toBe(
      `${path} has mode 0644: users other than its owner can open it, and it holds the pool passwords (chmod 600 ${path})`,
    );
    expect(mode(path)).toBe(0o644);
    writeFileSync(`${path}-wal`, ''); // an existing database's journal may hold its last transactions
    lock.release();
    expect(readdirSync(dir).sort()).toEqual(['proxy.db', 'proxy.db-wal']);
    expect(mode(path)).toBe(0o644);
  });

  it('does not warn about an existing file only its owner can open', () => {
    const path = join(dir, 'proxy.db');
    writeFileSync(path, '', { mode: 0o600 });
    const { lock, warning } = prepareSqliteFile(path);
    expect(warning).toBeNull();
    lock.release();
  });
});
