// The management token the proxy makes for itself on first start, so that a new farm's page works at once.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export interface GeneratedToken {
  readonly token: string;
  readonly path: string;
  /** Made by this start (printed in full once; removed again if the start fails). */
  readonly created: boolean;
}

/** Reads the token kept at `path`, or makes one there (owner-only, never over an existing file). */
export function loadOrCreateToken(path: string): GeneratedToken {
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token === '') throw new Error(`${path} is empty: delete it to have a new token made, or set API_TOKEN`);
    return { token, path, created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(24).toString('base64url');
  // 'wx': a file made meanwhile by another process is not overwritten; 0600 from the start, no chmod later.
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, path, created: true };
}

/** Undoes loadOrCreateToken after a failed start: a token this start made is removed with it. */
export function forgetCreatedToken(generated: GeneratedToken | null): void {
  if (generated?.created) rmSync(generated.path, { force: true });
}
