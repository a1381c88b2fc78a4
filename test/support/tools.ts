import { spawnSync } from 'node:child_process';

/**
 * Whether a command from Debian's packages (haproxy, promtool, prometheus) is installed. Its suites run
 * when it is, are skipped with the reason printed when it is not, and fail when REQUIRE_TOOLS=1 (CI, where
 * .ci/run installs them).
 */
export function toolSkipReason(command: string, versionFlag = '--version'): string | null {
  const found = spawnSync(command, [versionFlag], { stdio: 'ignore' }).status === 0;
  if (found) return null;
  if (process.env.REQUIRE_TOOLS === '1') throw new Error(`REQUIRE_TOOLS=1 but ${command} is not installed (apt-get install it)`);
  const reason = `${command} is not installed (Debian package; .ci/run installs it)`;
  process.stdout.write(`skipping the ${command} suite: ${reason}\n`);
  return reason;
}
