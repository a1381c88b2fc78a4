// Says once, at the top of the run, whether the PostgreSQL suites run and why not.
import { probePostgres } from './postgres.js';

export default async function setup(): Promise<void> {
  const probe = await probePostgres();
  if (probe.available) {
    process.stdout.write(`PostgreSQL suites: running against ${probe.adminUrl}\n`);
  } else if (process.env.REQUIRE_POSTGRES === '1') {
    throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL is unreachable at ${probe.adminUrl}: ${probe.reason}`);
  } else {
    process.stdout.write(
      `PostgreSQL suites: SKIPPED, PostgreSQL unreachable at ${probe.adminUrl} (${probe.reason}); set TEST_DATABASE_URL to run them\n`,
    );
  }
}
