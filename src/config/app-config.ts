import { ConfigError, FLAGS, FlagKey, FlagSpec, FlagValues, HostPort, LogLevelName } from './flags.js';
import { refusePlaceholderSecrets } from './placeholder-secrets.js';

/** The validated configuration every module receives; nothing else reads process.env. */
export interface AppConfig {
  readonly stratumAddr: HostPort;
  /** The TLS listener for miners, or null. */
  readonly stratumTls: {
    readonly addr: HostPort;
    readonly certPath: string;
    readonly keyPath: string;
    readonly handshakeTimeoutMs: number;
  } | null;
  readonly webAddr: HostPort;
  readonly database:
    | { readonly type: 'sqlite'; readonly path: string }
    /** `password`: given apart from the URL (--db.password), so that any character works. */
    | { readonly type: 'postgres'; readonly url: string; readonly password?: string };
  readonly metricsTag: string;
  readonly log: { readonly syslog: boolean; readonly level: LogLevelName; readonly format: 'text' | 'json' };
  readonly apiToken: string;
  /** Where the proxy keeps the management token it made itself (SQLite without --api.token), or null. */
  readonly apiTokenFile: string | null;
  /** Serve the farm page at /. */
  readonly webUi: boolean;
  /** Encrypts pool passwords at rest (empty: stored as given); the previous one, to re-encrypt after a change. */
  readonly secrets: { readonly key: string; readonly previousKey: string };
  /** Registration requires this bearer token (or apiToken); empty: open. */
  readonly apiRegistrationToken: string;
  /** Requests per client address and minute; 0: no limit. */
  readonly apiRates: { readonly registration: number; readonly read: number };
  readonly stratum: {
    readonly extranonce1Size: number;
    readonly extranonce2Size: number;
    readonly versionMask: number;
    readonly silenceTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly sessionLingerMs: number;
    readonly maxLineLength: number;
    readonly maxProtocolErrors: number;
    /** 0: derived from the open-file limit at start. */
    readonly maxConnections: number;
    /** 0: no limit. */
    readonly maxConnectionsPerAddress: number;
    readonly lineTimeoutMs: number;
    /** Connections start with a PROXY protocol header (behind a load balancer). */
    readonly proxyProtocol: boolean;
    readonly maxJunkPerMinute: number;
    readonly maxInvalidShareRatio: number;
  };
  /** maxRigsPerUser: distinct rig labels per name with series of their own (the rest: the rig `other`). */
  readonly metrics: { readonly rigTtlMs: number; readonly speedWindowMs: number; readonly maxRigsPerUser: number };
  readonly shares: { readonly validate: boolean };
  readonly pools: { readonly allowUnknown: boolean; readonly allowPrivate: boolean };
  readonly stats: { readonly retentionMs: number; readonly flushIntervalMs: number; readonly spoolPath: string };
  /** The drain on SIGTERM: how long to wait for shares in flight, and where to send miners (null: nowhere). */
  readonly shutdown: { readonly drainTimeoutMs: number; readonly reconnectTo: HostPort | null };
  /** 0: users never expire. */
  readonly usersExpireAfterMs: number;
  readonly upstream: {
    readonly maxLineLength: number;
    readonly connectTimeoutMs: number;
    /** An account that sends no job for this long is left for the next (or, alone, reconnected). */
    readonly jobTimeoutMs: number;
    /** A higher account must stay up this long before its name's miners go back to it. */
    readonly failbackAfterMs: number;
    readonly submitTimeoutMs: number;
    /** Most sessions on one channel (pool connection); clamped to the number of distinct prefixes. */
    readonly aggregation: number;
    readonly channelIdleMs: number;
  };
  /** Routing by weight: the period over which the weights are met (decisions every tenth of it). */
  readonly routing: { readonly periodMs: number };
  /** Per-miner difficulty; shareIntervalMs 0 turns it off. */
  readonly vardiff: { readonly shareIntervalMs: number; readonly minDifficulty: number };
}

export const APP_CONFIG = Symbol('APP_CONFIG');

export type CliRequest = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: AppConfig };

const BY_NAME = new Map<string, [FlagKey, FlagSpec]>(
  (Object.entries(FLAGS) as [FlagKey, FlagSpec][]).map(([key, spec]) => [spec.name.toLowerCase(), [key, spec]]),
);

/**
 * Reads flags (`-flag=value`, `--flag=value`, `--flag value`, bare boolean flags) and the environment;
 * flags win. Throws ConfigError with one line naming the flag and what was wrong.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CliRequest {
  const raw = new Map<FlagKey, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-version' || arg === '-v') return { kind: 'version' };
    const match = /^--?([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    if (!match) throw new ConfigError(`${arg}: unexpected argument (flags look like --name=value; see --help)`);
    const entry = BY_NAME.get(match[1].toLowerCase());
    if (!entry) throw new ConfigError(`--${match[1]}: unknown flag (see --help)`);
    const [key, spec] = entry;
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.boolean) {
        value = next !== undefined && /^(true|false)$/i.test(next) ? argv[++i] : 'true';
      } else if (
        next === undefined ||
        (next.startsWith('-') && next.length > 1 && BY_NAME.has(next.replace(/^--?/, '').split('=')[0].toLowerCase()))
      ) {
        throw new ConfigError(`--${spec.name}: missing value`);
      } else {
        value = argv[++i];
      }
    }
    raw.set(key, value);
  }

  const values = {} as Record<FlagKey, unknown>;
  for (const [key, spec] of Object.entries(FLAGS) as [FlagKey, FlagSpec][]) {
    const fromFlag = raw.get(key);
    const fromEnv = env[spec.env];
    const source =
      fromFlag !== undefined ? `--${spec.name}` : fromEnv !== undefined ? `${spec.env} (--${spec.name})` : `--${spec.name} default`;
    const text = fromFlag ?? fromEnv ?? spec.defaultValue;
    if (text === undefined) continue;
    try {
      values[key] = spec.parse(text);
    } catch (error) {
      const reason = error instanceof ConfigError ? error.message : String(error);
      throw new ConfigError(`${source}: ${reason}`);
    }
  }
  return { kind: 'run', config: toAppConfig(values as FlagValues) };
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('flag without default'); // unreachable: every required flag has a default
  return value;
}

function toAppConfig(v: FlagValues): AppConfig {
  refusePlaceholderSecrets(v);
  const stratumAddr = required(v.stratumAddr);
  const extranonce1Size = required(v.extranonce1Size);
  const extranonce2Size = required(v.extranonce2Size);
  const dbUrl = v.dbUrl ?? '';
  const path = required(v.dbPath);
  if (!dbUrl && path.trim() === '') throw new ConfigError('--db.path: expected a file name, got ""');
  const tlsAddr = v.stratumTlsAddr ?? null;
  if (tlsAddr && (!v.stratumTlsCert || !v.stratumTlsKey))
    throw new ConfigError('--stratum.tls.addr: needs --stratum.tls.cert and --stratum.tls.key (PEM files)');
  return {
    stratumAddr,
    stratumTls: tlsAddr
      ? {
          addr: tlsAddr,
          certPath: v.stratumTlsCert!,
          keyPath: v.stratumTlsKey!,
          handshakeTimeoutMs: required(v.stratumTlsHandshakeTimeout),
        }
      : null,
    webAddr: required(v.webAddr),
    database: dbUrl ? { type: 'postgres', url: dbUrl, password: v.dbPassword || undefined } : { type: 'sqlite', path },
    metricsTag: v.metricsTag ?? `${stratumAddr.host}:${stratumAddr.port}`,
    log: { syslog: required(v.syslog), level: required(v.logLevel), format: required(v.logFormat) },
    apiToken: v.apiToken ?? '',
    apiTokenFile: !v.apiToken && !dbUrl && required(v.apiGenerateToken) ? `${path}.token` : null,
    webUi: required(v.webUi),
    apiRegistrationToken: v.apiRegistrationToken ?? '',
    secrets: { key: v.secretKey ?? '', previousKey: v.previousSecretKey ?? '' },
    apiRates: { registration: required(v.apiRegistrationRate), read: required(v.apiReadRate) },
    stratum: {
      extranonce1Size,
      extranonce2Size,
      versionMask: required(v.versionMask),
      silenceTimeoutMs: required(v.silenceTimeout),
      idleTimeoutMs: required(v.idleTimeout),
      sessionLingerMs: required(v.sessionLinger),
      maxLineLength: required(v.maxLineLength),
      maxProtocolErrors: required(v.maxProtocolErrors),
      maxConnections: required(v.maxConnections),
      maxConnectionsPerAddress: required(v.maxConnectionsPerAddress),
      lineTimeoutMs: Math.max(100, required(v.lineTimeout)),
      proxyProtocol: required(v.proxyProtocol),
      maxJunkPerMinute: required(v.maxJunkPerMinute),
      maxInvalidShareRatio: required(v.maxInvalidShareRatio),
    },
    metrics: {
      rigTtlMs: required(v.metricsRigTtl),
      speedWindowMs: Math.max(1000, required(v.metricsSpeedWindow)),
      maxRigsPerUser: required(v.metricsMaxRigsPerUser),
    },
    shares: { validate: required(v.sharesValidate) },
    pools: { allowUnknown: required(v.poolsAllowUnknown), allowPrivate: required(v.poolsAllowPrivate) },
    stats: {
      retentionMs: required(v.statsRetention),
      flushIntervalMs: Math.max(100, required(v.statsFlushInterval)),
      spoolPath: v.statsSpool || (dbUrl ? 'stats-spool.json' : `${path}.stats-spool.json`),
    },
    usersExpireAfterMs: required(v.usersExpireAfter),
    shutdown: { drainTimeoutMs: required(v.shutdownDrainTimeout), reconnectTo: v.shutdownReconnectTo ?? null },
    upstream: {
      maxLineLength: required(v.upstreamMaxLineLength),
      connectTimeoutMs: required(v.upstreamConnectTimeout),
      jobTimeoutMs: Math.max(1000, required(v.upstreamJobTimeout)),
      failbackAfterMs: required(v.upstreamFailbackAfter),
      submitTimeoutMs: required(v.upstreamSubmitTimeout),
      // One session per prefix value and channel: more than 256^size could never be seated.
      aggregation: Math.min(required(v.upstreamAggregation), 256 ** extranonce1Size),
      channelIdleMs: required(v.upstreamChannelIdle),
    },
    routing: { periodMs: Math.max(1000, required(v.routingPeriod)) },
    vardiff: { shareIntervalMs: required(v.vardiffShareInterval), minDifficulty: required(v.vardiffMinDifficulty) },
  };
}

/** The --help text: every flag with its environment variable and default. */
export function helpText(version: string): string {
  const lines = [
    `stratum-proxy ${version}: one Stratum port for every pool, with per-worker accounting`,
    '',
    'Usage: stratum-proxy [flags]',
    '',
    'Flags (each also read from the environment variable shown; flags win):',
  ];
  for (const spec of Object.values(FLAGS) as FlagSpec[]) {
    const def = spec.defaultValue === undefined ? '' : spec.defaultValue === '' ? ' (default: empty)' : ` (default: ${spec.defaultValue})`;
    lines.push(`  --${spec.name}${spec.boolean ? '' : '=VALUE'}`, `      ${spec.description}${def}  [env ${spec.env}]`);
  }
  lines.push('  --help      print this help', '  --version   print the version');
  return lines.join('\n');
}
