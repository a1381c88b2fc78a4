import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * This process's heap after a full collection, in bytes: what a test's load leaves behind, whatever the
 * collector's timing (the suites hash in-process, so a peak RSS measures their own garbage too).
 */
export function heapAfterFullGc(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}
