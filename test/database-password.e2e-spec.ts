import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:net';
import pg from 'pg';
import { ADMIN_URL, probePostgres } from './support/postgres.js';
import { runProxy } from './support/process.js';
import { startTestProxy } from './support/proxy.js';

// A password with every character that breaks a URL it is pasted into raw, and `%` that a decoder would eat.
const PASSWORD = 'p@ss/w:rd#1 %41?&=';
const FLAGS = ['--web.addr=127.0.0.1:0', '--stratum.addr=127.0.0.1:0', '--api.token=db-password-token', '--syslog'];

/**
 * A PostgreSQL server that asks for a cleartext password and records it: local PostgreSQL trusts every
 * connection, so only this shows what the proxy sends.
 */
async function passwordCatcher(): Promise<{ server: Server; port: number; passwords: string[] }> {
  const passwords: string[] = [];
  const server = createServer((socket) => {
    let buffered = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!started && buffered.length >= 4 && buffered.length >= buffered.readInt32BE(0)) {
        buffered = buffered.subarray(buffered.readInt32BE(0));
        started = true;
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
      }
      if (started && buffered.length >= 5 && buffered[0] === 0x70 && buffered.length >= 1 + buffered.readInt32BE(1)) {
        passwords.push(buffered.subarray(5, buffered.readInt32BE(1)).toString('utf8'));
        const fields = Buffer.from('SFATAL\0C28P01\0Mpassword authentication failed for user "proxy"\0\0');
        const error = Buffer.alloc(5);
        error.write('E');
        error.writeInt32BE(4 + fields.length, 1);
        socket.end(Buffer.concat([error, fields]));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port, passwords };
}

describe('a PostgreSQL password given apart from DATABASE_URL', () => {
  it('reaches the server exactly as given, and never the logs', async () => {
    const catcher = await passwordCatcher();
    try {
      const result = await runProxy(FLAGS, {
        DATABASE_URL: `postgres://proxy@127.0.0.1:${catcher.port}/proxy`,
        DATABASE_PASSWORD: PASSWORD,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `cannot open or migrate the PostgreSQL database postgres://proxy@127.0.0.1:${catcher.port}/proxy: password authentication failed`,
      );
      expect(catcher.passwords).toEqual([PASSWORD]);
      expect(result.stdout + result.stderr).not.toContain('p@ss');
    } finally {
      await new Promise<void>((resolve) => catcher.server.close(() => resolve()));
    }
  });
});

const probe = await probePostgres();
if (!probe.available && process.env.REQUIRE_POSTGRES === '1')
  throw new Error(`REQUIRE_POSTGRES=1 but PostgreSQL is unreachable: ${probe.reason}`);
describe.skipIf(!probe.available)('a PostgreSQL role whose password has @ / : # in it', () => {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const role = `proxy_pw_${suffix}`;
  const database = `proxy_pw_test_${suffix}`;
  const admin = () => new pg.Client({ connectionString: ADMIN_URL });

  beforeAll(async () => {
    const client = admin();
    await client.connect();
    try {
      await client.query(`CREATE ROLE "${role}" LOGIN PASSWORD ${client.escapeLiteral(PASSWORD)}`);
      await client.query(`CREATE DATABASE "${database}" OWNER "${role}"`);
    } finally {
      await client.end();
    }
  });

  afterAll(async () => {
    const client = admin();
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS "${role}"`);
    } finally {
      await client.end();
    }
  });

  it('connects as that role and migrates its database', async () => {
    const url = new URL(ADMIN_URL);
    url.username = role;
    url.password = '';
    url.pathname = `/${database}`;
    const proxy = await startTestProxy([`--db.url=${url}`, `--db.password=${PASSWORD}`]);
    try {
      expect((await fetch(`http://${proxy.webAddress}/api/v1/algorithms`)).status).toBe(200);
    } finally {
      await proxy.close();
    }
    const client = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${database}`) });
    await client.connect();
    try {
      // The schema was made by the proxy's connection, as the role.
      const owners = await client.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'");
      expect(owners.rows).toEqual([{ tableowner: role }]);
    } finally {
      await client.end();
    }
  });
});
