/**
 * Resolves once `condition` holds (checked every 20 ms); rejects naming `what` after `timeoutMs`, or with
 * the condition's own error when it throws (a condition that knows it never will hold says so at once).
 */
export const until = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const check = async () => {
      try {
        if (await condition()) return resolve();
      } catch (error) {
        return reject(error as Error);
      }
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(() => void check(), 20);
    };
    void check();
  });
