// Every command-line flag, its environment variable, default and parser: the one documented place for limits.

export class ConfigError extends Error {}

/** A parser turns a raw string into a value or throws a message saying what was expected. */
type Parser<T> = (raw: string) => T;

export interface FlagSpec<T = unknown> {
  readonly name: string;
  readonly env: string;
  /** Raw default, parsed like user input; undefined means "no value". */
  readonly defaultValue: string | undefined;
  readonly description: string;
  readonly parse: Parser<T>;
  readonly boolean?: boolean;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export function parseHostPort(raw: string): HostPort {
  const match = HOST_PORT.exec(raw.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new ConfigError(`expected host:port, got ${JSON.stringify(raw)}`);
  const host = match[1].startsWith('[') ? match[1].slice(1, -1) : match[1];
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function parseString(raw: string): string {
  return raw;
}

function parseBoolean(raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`expected true or false, got ${JSON.stringify(raw)}`);
}

function integerIn(min: number, max: number): Parser<number> {
  return (raw) => {
    const value = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new ConfigError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Go-style durations ("3s", "1m30s", "500ms", "24h"); a bare number is seconds. Returns milliseconds. */
export function parseDuration(raw: string): number {
  const text = raw.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    consumed = part.lastIndex;
  }
  if (text === '' || consumed !== text.length) {
    throw new ConfigError(`expected a duration such as 3s, 5m or 24h, got ${JSON.stringify(raw)}`);
  }
  return Math.round(total);
}

function positiveNumber(raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`expected a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function fractionIn01(raw: string): number {
  const value = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1) {
    throw new ConfigError(`expected a number above 0 and at most 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim().toLowerCase() as T;
    if (!values.includes(value)) {
      throw new ConfigError(`expected one of ${values.join(', ')}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
}

function hexMask(raw: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(raw.trim())) {
    throw new ConfigError(`expected 8 hex digits, got ${JSON.stringify(raw)}`);
  }
  return Number.parseInt(raw.trim(), 16) >>> 0;
}

function postgresUrl(raw: string): string {
  if (raw === '') return raw;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`expected a postgres:// URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`expected a postgres:// URL, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

function flag<T>(name: string, env: string, defaultValue: string | undefined, parse: Parser<T>, description: string): FlagSpec<T> {
  return { name, env, defaultValue, parse, description };
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export const FLAGS = {
  stratumAddr: flag('stratum.addr', 'STRATUM_ADDR', '127.0.0.1:9332', parseHostPort, 'address the miners connect to'),
  webAddr: flag('web.addr', 'WEB_ADDR', '127.0.0.1:8080', parseHostPort, 'address of the REST API and /metrics'),
  dbPath: flag('db.path', 'DB_PATH', 'proxy.db', parseString, 'SQLite database file (the embedded default)'),
  dbUrl: flag('db.url', 'DATABASE_URL', '', postgresUrl, 'PostgreSQL URL; when set, PostgreSQL is used instead of SQLite'),
  dbPassword: flag(
    'db.password',
    'DATABASE_PASSWORD',
    '',
    parseString,
    "the PostgreSQL password, apart from --db.url so that any character works (replaces the URL's). Prefer the environment variable",
  ),
  metricsTag: flag('metrics.tag', 'METRICS_TAG', undefined, parseString, 'value of the "proxy" metric label (default: stratum.addr)'),
  syslog: {
    ...flag('syslog', 'SYSLOG', 'false', parseBoolean, 'plain log lines: no date, no colours (for syslog/journald)'),
    boolean: true,
  },
  webUi: {
    ...flag('web.ui', 'WEB_UI', 'true', parseBoolean, 'serve the farm page at / (its assets under /ui)'),
    boolean: true,
  },
  apiToken: flag(
    'api.token',
    'API_TOKEN',
    '',
    parseString,
    'bearer token that guards the management API (empty: see --api.generateToken). Prefer the environment variable',
  ),
  apiGenerateToken: {
    ...flag(
      'api.generateToken',
      'API_GENERATE_TOKEN',
      'true',
      parseBoolean,
      'on SQLite without API_TOKEN: make a management token at first start, kept in <db.path>.token (owner only); false: management disabled',
    ),
    boolean: true,
  },
  secretKey: flag(
    'secrets.key',
    'PROXY_SECRET_KEY',
    '',
    parseString,
    'secret that encrypts pool passwords at rest (AES-256-GCM); empty: stored as given. Prefer the environment variable',
  ),
  previousSecretKey: flag(
    'secrets.previousKey',
    'PROXY_SECRET_KEY_PREVIOUS',
    '',
    parseString,
    'the former secret, when changing it: passwords are re-encrypted with the new one at start',
  ),
  apiRegistrationToken: flag(
    'api.registrationToken',
    'API_REGISTRATION_TOKEN',
    '',
    parseString,
    'bearer token registration requires (the management token works too); empty: registration is open',
  ),
  apiRegistrationRate: flag(
    'api.registrationRate',
    'API_REGISTRATION_RATE',
    '30',
    integerIn(0, 1_000_000),
    'registrations one client address may make per minute (0: no limit)',
  ),
  apiReadRate: flag(
    'api.readRate',
    'API_READ_RATE',
    '600',
    integerIn(0, 10_000_000),
    'other API requests one client address may make per minute (0: no limit; /metrics is not limited)',
  ),
  logLevel: flag('log.level', 'LOG_LEVEL', 'info', oneOf(...LOG_LEVELS), 'lowest level logged: error, warn, info, debug, verbose'),
  logFormat: flag('log.format', 'LOG_FORMAT', 'text', oneOf('text', 'json'), 'text, or json (one object per line)'),
  stratumTlsAddr: flag(
    'stratum.tls.addr',
    'STRATUM_TLS_ADDR',
    '',
    (raw) => (raw.trim() === '' ? null : parseHostPort(raw)),
    'address of a TLS listener for miners (stratum+ssl), beside the plain one; empty: none',
  ),
  stratumTlsCert: flag(
    'stratum.tls.cert',
    'STRATUM_TLS_CERT',
    '',
    parseString,
    'PEM certificate (chain) of the TLS listener; reloaded on SIGHUP or when the file changes',
  ),
  stratumTlsKey: flag('stratum.tls.key', 'STRATUM_TLS_KEY', '', parseString, 'PEM private key of the TLS listener'),
  stratumTlsHandshakeTimeout: flag(
    'stratum.tls.handshakeTimeout',
    'STRATUM_TLS_HANDSHAKE_TIMEOUT',
    '5s',
    parseDuration,
    'a miner that does not finish the TLS handshake in this time is closed',
  ),
  extranonce1Size: flag(
    'stratum.extranonce1Size',
    'STRATUM_EXTRANONCE1_SIZE',
    '1',
    integerIn(1, 4),
    "bytes of the proxy's per-miner extranonce1",
  ),
  extranonce2Size: flag('stratum.extranonce2Size', 'STRATUM_EXTRANONCE2_SIZE', '4', integerIn(2, 8), 'extranonce2 size given to miners'),
  versionMask: flag('stratum.versionMask', 'STRATUM_VERSION_MASK', '1fffe000', hexMask, 'version-rolling bits miners may use (BIP310)'),
  silenceTimeout: flag(
    'stratum.silenceTimeout',
    'STRATUM_SILENCE_TIMEOUT',
    '3s',
    parseDuration,
    'a new connection must speak within this time',
  ),
  idleTimeout: flag('stratum.idleTimeout', 'STRATUM_IDLE_TIMEOUT', '10m', parseDuration, 'a miner silent for this long is disconnected'),
  sessionLinger: flag(
    'stratum.sessionLinger',
    'STRATUM_SESSION_LINGER',
    '60s',
    parseDuration,
    'how long a disconnected session can be resumed, and a miner whose pool accounts are all down stays connected',
  ),
  maxLineLength: flag(
    'stratum.maxLineLength',
    'STRATUM_MAX_LINE_LENGTH',
    '16384',
    integerIn(256, 16_777_216),
    'longest line accepted from a miner, bytes',
  ),
  maxProtocolErrors: flag(
    'stratum.maxProtocolErrors',
    'STRATUM_MAX_PROTOCOL_ERRORS',
    '10',
    integerIn(1, 1_000_000),
    'malformed messages before a miner is disconnected',
  ),
  maxConnections: flag(
    'stratum.maxConnections',
    'STRATUM_MAX_CONNECTIONS',
    '0',
    integerIn(0, 10_000_000),
    'most miner connections at once (0: what the open-file limit allows, descriptors kept for pools, API and database)',
  ),
  maxConnectionsPerAddress: flag(
    'stratum.maxConnectionsPerAddress',
    'STRATUM_MAX_CONNECTIONS_PER_ADDRESS',
    '0',
    integerIn(0, 10_000_000),
    'most miner connections from one IP address (0: no limit; a farm behind NAT is one address)',
  ),
  proxyProtocol: {
    ...flag(
      'stratum.proxyProtocol',
      'STRATUM_PROXY_PROTOCOL',
      'false',
      parseBoolean,
      "expect HAProxy's PROXY protocol header (v1 or v2) on every Stratum connection, and take the miner's address from it",
    ),
    boolean: true,
  },
  lineTimeout: flag(
    'stratum.lineTimeout',
    'STRATUM_LINE_TIMEOUT',
    '5s',
    parseDuration,
    'a line a miner has started must be finished within this time',
  ),
  maxJunkPerMinute: flag(
    'stratum.maxJunkPerMinute',
    'STRATUM_MAX_JUNK_PER_MINUTE',
    '100',
    integerIn(1, 10_000_000),
    'messages that do not advance mining (unknown methods, notifications, responses, repeated subscribes) a miner may send per minute',
  ),
  maxInvalidShareRatio: flag(
    'stratum.maxInvalidShareRatio',
    'STRATUM_MAX_INVALID_SHARE_RATIO',
    '0.5',
    fractionIn01,
    'a miner whose shares are invalid more often than this over 100 shares is disconnected (1: never)',
  ),
  upstreamMaxLineLength: flag(
    'upstream.maxLineLength',
    'UPSTREAM_MAX_LINE_LENGTH',
    '1048576',
    integerIn(1024, 67_108_864),
    'longest line accepted from a pool, bytes',
  ),
  upstreamConnectTimeout: flag(
    'upstream.connectTimeout',
    'UPSTREAM_CONNECT_TIMEOUT',
    '10s',
    parseDuration,
    'time to connect and subscribe to a pool',
  ),
  upstreamJobTimeout: flag(
    'upstream.jobTimeout',
    'UPSTREAM_JOB_TIMEOUT',
    '120s',
    parseDuration,
    'a pool account that sends no job for this long is left for the next account (alone: reconnected)',
  ),
  upstreamFailbackAfter: flag(
    'upstream.failbackAfter',
    'UPSTREAM_FAILBACK_AFTER',
    '60s',
    parseDuration,
    "a higher account must stay up this long before its name's miners go back to it",
  ),
  routingPeriod: flag(
    'routing.period',
    'ROUTING_PERIOD',
    '5m',
    parseDuration,
    "period over which a name's routes get their weights' part of its hashrate (miners are moved every tenth of it)",
  ),
  sharesValidate: {
    ...flag(
      'shares.validate',
      'SHARES_VALIDATE',
      'true',
      parseBoolean,
      'check every share locally (hash, target, duplicates) before it reaches the pool',
    ),
    boolean: true,
  },
  poolsAllowPrivate: {
    ...flag(
      'pools.allowPrivate',
      'POOLS_ALLOW_PRIVATE',
      'false',
      parseBoolean,
      'with --pools.allowUnknown, also connect to pools on loopback, private, link-local, multicast or unspecified addresses',
    ),
    boolean: true,
  },
  poolsAllowUnknown: {
    ...flag(
      'pools.allowUnknown',
      'POOLS_ALLOW_UNKNOWN',
      'false',
      parseBoolean,
      'accept registrations for pools not in the database; their algorithm is detected from shares',
    ),
    boolean: true,
  },
  metricsRigTtl: flag(
    'metrics.rigTtl',
    'METRICS_RIG_TTL',
    '24h',
    parseDuration,
    "a rig's series are dropped after this long without a connection",
  ),
  // A big farm runs a few hundred rigs under one name: 1,000 leaves it room and still bounds a name's rig
  // series (about 7 each) whatever its miners send.
  metricsMaxRigsPerUser: flag(
    'metrics.maxRigsPerUser',
    'METRICS_MAX_RIGS_PER_USER',
    '1000',
    integerIn(1, 1_000_000),
    'most distinct rig labels per name with series of their own; further rigs are accounted as the rig "other" (counted in proxy_rig_overflow_total) until one expires by --metrics.rigTtl. Labels are cut to 64 characters',
  ),
  statsRetention: flag('stats.retention', 'STATS_RETENTION', '30d', parseDuration, 'how long per-minute statistics are kept'),
  statsFlushInterval: flag(
    'stats.flushInterval',
    'STATS_FLUSH_INTERVAL',
    '15s',
    parseDuration,
    'how often statistics are written to the database',
  ),
  statsSpool: flag(
    'stats.spool',
    'STATS_SPOOL',
    '',
    parseString,
    'file for statistics the database could not take at shutdown, written on the next start (default: beside the SQLite file, or stats-spool.json)',
  ),
  shutdownDrainTimeout: flag(
    'shutdown.drainTimeout',
    'SHUTDOWN_DRAIN_TIMEOUT',
    '10s',
    parseDuration,
    "on SIGTERM, how long to wait for the pools' verdicts on shares in flight before stopping",
  ),
  shutdownReconnectTo: flag(
    'shutdown.reconnectTo',
    'SHUTDOWN_RECONNECT_TO',
    '',
    (raw) => (raw.trim() === '' ? null : parseHostPort(raw)),
    'on SIGTERM, tell miners client.reconnect to this host:port (e.g. the load balancer) before stopping',
  ),
  usersExpireAfter: flag(
    'users.expireAfter',
    'USERS_EXPIRE_AFTER',
    '0',
    parseDuration,
    'delete users inactive for longer than this (0: never)',
  ),
  upstreamSubmitTimeout: flag(
    'upstream.submitTimeout',
    'UPSTREAM_SUBMIT_TIMEOUT',
    '30s',
    parseDuration,
    'a share the pool does not answer in this time gets error 20',
  ),
  upstreamAggregation: flag(
    'upstream.aggregation',
    'UPSTREAM_AGGREGATION',
    '256',
    integerIn(1, 65_536),
    'most miners sharing one pool connection of an account (1: one connection per miner)',
  ),
  upstreamChannelIdle: flag(
    'upstream.channelIdle',
    'UPSTREAM_CHANNEL_IDLE',
    '10s',
    parseDuration,
    'a pool connection with no miner left is closed after this long',
  ),
  vardiffShareInterval: flag(
    'vardiff.shareInterval',
    'VARDIFF_SHARE_INTERVAL',
    '10s',
    parseDuration,
    "time between a miner's shares that its own difficulty aims at (0: miners get the pool's difficulty)",
  ),
  vardiffMinDifficulty: flag(
    'vardiff.minDifficulty',
    'VARDIFF_MIN_DIFFICULTY',
    '0.0001',
    positiveNumber,
    "lowest difficulty given to a miner (never above the pool's)",
  ),
  metricsSpeedWindow: flag(
    'metrics.speedWindow',
    'METRICS_SPEED_WINDOW',
    '5m',
    parseDuration,
    'window of the speed gauges (proxy_worker_speed, proxy_user_speed, proxy_rig_speed)',
  ),
} as const;

export type FlagKey = keyof typeof FLAGS;
export type FlagValues = { [K in FlagKey]: ReturnType<(typeof FLAGS)[K]['parse']> | undefined };
