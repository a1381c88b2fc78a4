import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetCreatedToken, loadOrCreateToken } from './generated-token.js';

describe('loadOrCreateToken', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'token-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes an owner-only token once and reads the same one at the next start', () => {
    const path = join(dir, 'proxy.db.token');
    const first = loadOrCreateToken(path);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = loadOrCreateToken(path);
    expect(second).toEqual({ token: first.token, path, created: false });
  });

  it('keeps a token the operator wrote, and refuses an empty file', () => {
    const path = join(dir, 'proxy.db.token');
    writeFileSync(path, '  mine \n', { mode: 0o644 });
    expect(loadOrCreateToken(path).token).toBe('mine');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    writeFileSync(path, '\n');
    expect(() => loadOrCreateToken(path)).toThrow(/is empty/);
  });

  it('removes only a token made by this start', () => {
    const path = join(dir, 'proxy.db.token');
    writeFileSync(path, 'kept\n');
    forgetCreatedToken(loadOrCreateToken(path));
    expect(readFileSync(path, 'utf8')).toBe('kept\n');
    rmSync(path);
    forgetCreatedToken(loadOrCreateToken(path));
    expect(() => statSync(path)).toThrow(/ENOENT/);
  });
});
