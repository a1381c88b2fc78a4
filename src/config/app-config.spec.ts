import { helpText, parseCommandLine } from './app-config.js';
import { ConfigError, FLAGS, parseDuration, parseHostPort } from './flags.js';

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const request = parseCommandLine(argv, env);
  if (request.kind !== 'run') throw new Error(`expected run, got ${request.kind}`);
  return request.config;
};

const failure = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('parseCommandLine', () => {
  it("uses the original's defaults", () => {
    const config = run([]);
    expect(config.stratumAddr).toEqual({ host: '127.0.0.1', port: 9332 });
    expect(config.webAddr).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.database).toEqual({ type: 'sqlite', path: 'proxy.db' });
    expect(config.metricsTag).toBe('127.0.0.1:9332');
    expect(config.log).toEqual({ syslog: false, level: 'info', format: 'text' });
    expect(config.stratum.silenceTimeoutMs).toBe(3000);
    expect(config.stratum.extranonce1Size).toBe(1);
    expect(config.stratum.extranonce2Size).toBe(4);
    expect(config.apiToken).toBe('');
  });

  it('accepts -flag=value, --flag=value and --flag value', () => {
    expect(run(['-stratum.addr=0.0.0.0:3333']).stratumAddr).toEqual({ host: '0.0.0.0', port: 3333 });
    expect(run(['--web.addr=10.0.0.1:80']).webAddr).toEqual({ host: '10.0.0.1', port: 80 });
    expect(run(['--db.path', '/var/lib/proxy.db']).database).toEqual({ type: 'sqlite', path: '/var/lib/proxy.db' });
    expect(run(['-metrics.tag', 'farm-1']).metricsTag).toBe('farm-1');
  });

  it('defaults metrics.tag to the stratum address', () => {
    expect(run(['--stratum.addr=:4444']).metricsTag).toBe('0.0.0.0:4444');
  });

  it('caps rigs per name at 1,000 unless told, and refuses a cap of 0', () => {
    expect(run([]).metrics.maxRigsPerUser).toBe(1000);
    expect(run(['--metrics.maxRigsPerUser=50']).metrics.maxRigsPerUser).toBe(50);
    expect(run([], { METRICS_MAX_RIGS_PER_USER: '7' }).metrics.maxRigsPerUser).toBe(7);
    expect(failure(['--metrics.maxRigsPerUser=0'])).toBe('--metrics.maxRigsPerUser: expected an integer from 1 to 1000000, got "0"');
  });

  it('treats a bare boolean flag as true and accepts an explicit value', () => {
    expect(run(['-syslog']).log.syslog).toBe(true);
    expect(run(['--syslog=false']).log.syslog).toBe(false);
    expect(run(['--syslog', 'false', '--log.level', 'debug']).log).toEqual({ syslog: false, level: 'debug', format: 'text' });
    expect(run(['--syslog', '--log.level=warn']).log.level).toBe('warn');
  });

  it('reads the environment and lets flags win', () => {
    const env = { STRATUM_ADDR: '127.0.0.1:7000', API_TOKEN: 'env-token-5e1a', DATABASE_URL: 'postgres://u@h/db', LOG_FORMAT: 'json' };
    const config = run([], env);
    expect(config.stratumAddr.port).toBe(7000);
    expect(config.apiToken).toBe('env-token-5e1a');
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://u@h/db' });
    expect(config.log.format).toBe('json');
    expect(run(['--stratum.addr=127.0.0.1:7001'], env).stratumAddr.port).toBe(7001);
  });

  it('names the flag and the problem for each bad value', () => {
    expect(failure(['--web.addr=abc'])).toBe('--web.addr: expected host:port, got "abc"');
    expect(failure(['--stratum.addr=1.2.3.4:70000'])).toBe('--stratum.addr: expected host:port, got "1.2.3.4:70000"');
    expect(failure(['--log.level=loud'])).toBe('--log.level: expected one of error, warn, info, debug, verbose, got "loud"');
    expect(failure(['--log.format=xml'])).toBe('--log.format: expected one of text, json, got "xml"');
    expect(failure(['--syslog=maybe'])).toBe('--syslog: expected true or false, got "maybe"');
    expect(failure(['--db.url=mysql://x'])).toBe('--db.url: expected a postgres:// URL, got "mysql://x"');
    expect(failure(['--stratum.extranonce2Size=9'])).toBe('--stratum.extranonce2Size: expected an integer from 2 to 8, got "9"');
    expect(failure(['--stratum.silenceTimeout=soon'])).toBe(
      '--stratum.silenceTimeout: expected a duration such as 3s, 5m or 24h, got "soon"',
    );
    expect(failure(['--stratum.versionMask=xyz'])).toBe('--stratum.versionMask: expected 8 hex digits, got "xyz"');
    expect(failure(['--db.path='])).toBe('--db.path: expected a file name, got ""');
  });

  it('says where a bad environment value came from', () => {
    expect(failure([], { WEB_ADDR: 'nope' })).toBe('WEB_ADDR (--web.addr): expected host:port, got "nope"');
  });

  it('rejects unknown flags, stray arguments and missing values', () => {
    expect(failure(['--no.such=1'])).toBe('--no.such: unknown flag (see --help)');
    expect(failure(['stray'])).toBe('stray: unexpected argument (flags look like --name=value; see --help)');
    expect(failure(['--web.addr'])).toBe('--web.addr: missing value');
    expect(failure(['--web.addr', '--syslog'])).toBe('--web.addr: missing value');
  });

  it('recognises --help and --version', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-version'], {})).toEqual({ kind: 'version' });
  });

  it('lists every flag with its environment variable in --help', () => {
    const text = helpText('1.2.3');
    for (const spec of Object.values(FLAGS)) {
      expect(text).toContain(`--${spec.name}`);
      expect(text).toContain(`[env ${spec.env}]`);
    }
  });
});

describe('value parsers', () => {
  it('parses durations to milliseconds', () => {
    expect(parseDuration('3s')).toBe(3000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('24h')).toBe(86_400_000);
    expect(parseDuration('2')).toBe(2000);
    expect(() => parseDuration('3 s')).toThrow(ConfigError);
  });

  it('parses host:port including IPv6 and an empty host', () => {
    expect(parseHostPort('[::1]:9332')).toEqual({ host: '::1', port: 9332 });
    expect(parseHostPort(':9332')).toEqual({ host: '0.0.0.0', port: 9332 });
    expect(() => parseHostPort('host')).toThrow(ConfigError);
  });
});
