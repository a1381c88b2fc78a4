import { parseCommandLine, type AppConfig } from './config/app-config.js';
import { startupLines } from './startup-lines.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): AppConfig {
  const request = parseCommandLine(argv, env);
  if (request.kind !== 'run') throw new Error('unexpected');
  return request.config;
}

const bound = { stratumAddress: '0.0.0.0:9332', stratumTlsAddress: '', webAddress: '127.0.0.1:8080' };

describe('startupLines', () => {
  it('shows the token address once, when the token was just made, and where it is kept later', () => {
    const c = config(['--db.path=/tmp/farm/proxy.db']);
    const made = startupLines(c, { ...bound, generatedToken: { token: 'abc', path: '/tmp/farm/proxy.db.token', created: true } }, '1.0');
    expect(made).toEqual([
      'stratum-proxy 1.0: stratum 0.0.0.0:9332, web 127.0.0.1:8080, database sqlite',
      'miners connect to stratum+tcp://127.0.0.1:9332 with -u <name>',
      'farm page http://127.0.0.1:8080/#token=abc',
      'management API on: a token was made for this proxy and kept in /tmp/farm/proxy.db.token (owner only)',
      'database: SQLite /tmp/farm/proxy.db',
    ]);
    const later = startupLines(c, { ...bound, generatedToken: { token: 'abc', path: '/tmp/farm/proxy.db.token', created: false } }, '1.0');
    expect(later.join('\n')).not.toContain('abc');
    expect(later[2]).toBe('farm page http://127.0.0.1:8080/ (open it with #token=<the token in /tmp/farm/proxy.db.token>)');
  });

  it('says whether management is on, and hides database passwords', () => {
    const off = startupLines(config(['--db.url=postgres://proxy:s3cr3t-Pw@db:5432/proxy']), { ...bound, generatedToken: null }, '1.0');
    expect(off).toContain('management API off: set API_TOKEN=<secret> and restart to turn it on');
    expect(off).toContain('database: PostgreSQL postgres://proxy:***@db:5432/proxy');
    const on = startupLines(config([], { API_TOKEN: 'a-real-token-9f2' }), { ...bound, generatedToken: null }, '1.0');
    expect(on).toContain('management API on: token from API_TOKEN (--api.token)');
    expect(on.join('\n')).not.toContain('a-real-token-9f2');
  });
});
