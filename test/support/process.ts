import { ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A proxy process as a user runs it (`node dist/main.js ...`), with its output collected. */
export class ProxyProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exited>;

  /** `openFiles`: run under that open-file limit (`ulimit -n`, then exec: the pid is the proxy's). */
  /** `script`: another entry point of dist/ (the demo) instead of the proxy's main. */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, openFiles?: number, script = MAIN) {
    const [command, argv] =
      openFiles === undefined
        ? [process.execPath, [script, ...args]]
        : ['bash', ['-c', 'ulimit -n "$0" && exec "$@"', String(openFiles), process.execPath, script, ...args]];
    this.child = spawn(command, argv, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        // Let the pipes drain before reporting.
        setImmediate(() => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
      }),
    );
  }

  /** Resolves when the output matches, rejects if the process exits first or the time runs out. */
  waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = (this.stdout + this.stderr).match(pattern);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern}; output:\n${this.stdout}${this.stderr}`));
      }, timeoutMs);
      const onExit = () => {
        check();
        cleanup();
        reject(new Error(`process exited before ${pattern}; output:\n${this.stdout}${this.stderr}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.child.stdout!.off('data', check);
        this.child.stderr!.off('data', check);
        this.child.off('exit', onExit);
      };
      this.child.stdout!.on('data', check);
      this.child.stderr!.on('data', check);
      this.child.once('exit', onExit);
      check();
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }
}

export function runProxy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exited> {
  return new ProxyProcess(args, env).exited;
}
