import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/**
 * Every custom metric. The original proxy's names and labels are kept exactly (users' dashboards depend on
 * them), even where they break Prometheus naming; the proxy's own additions follow it.
 */
const WORKER = ['proxy', 'worker', 'user', 'hash', 'pool'] as const;

export const METRIC = {
  workerUp: 'proxy_worker_up',
  poolUp: 'proxy_pool_up',
  poolDivider: 'proxy_pool_divider',
  workerSended: 'proxy_worker_sended',
  workerOneSended: 'proxy_worker_one_sended',
  workerAccepted: 'proxy_worker_accepted',
  workerOneAccepted: 'proxy_worker_one_accepted',
  workerSpeed: 'proxy_worker_speed',
  workerDifficulty: 'proxy_worker_difficulty',
  shares: 'proxy_shares_total',
  difficultyOneShares: 'proxy_difficulty_one_shares_total',
  sharesRejected: 'proxy_shares_rejected_total',
  userSpeed: 'proxy_user_speed',
  workersConnected: 'proxy_workers_connected',
  poolConnections: 'proxy_pool_connections',
  shareRoundTrip: 'proxy_share_round_trip_seconds',
  upstreamConnects: 'proxy_upstream_connects_total',
  protocolErrors: 'proxy_protocol_errors_total',
  rigShares: 'proxy_rig_shares_total',
  rigDifficultyOneShares: 'proxy_rig_difficulty_one_shares_total',
  rigSpeed: 'proxy_rig_speed',
  blocksFound: 'proxy_blocks_found_total',
  workerValid: 'proxy_worker_valid_shares_total',
  workerOneValid: 'proxy_worker_valid_difficulty_one_shares_total',
  channelSessions: 'proxy_channel_sessions',
  channelDifficulty: 'proxy_channel_difficulty',
  failovers: 'proxy_failovers_total',
  minerDisconnects: 'proxy_miner_disconnects_total',
  rigConnects: 'proxy_rig_connects_total',
  rigOverflow: 'proxy_rig_overflow_total',
  routeWeight: 'proxy_route_weight',
  routeHashrate: 'proxy_route_hashrate',
  routeMoves: 'proxy_route_moves_total',
} as const;

export const METRIC_PROVIDERS = [
  makeGaugeProvider({
    name: METRIC.routeWeight,
    help: "The configured weight of each route of a name with several routes (route: its index, 0 the name's own account).",
    labelNames: ['proxy', 'user', 'route'],
  }),
  makeGaugeProvider({
    name: METRIC.routeHashrate,
    help: 'The measured hashrate (h/s, over the speed window) of the miners on each route of a name with several routes.',
    labelNames: ['proxy', 'user', 'route'],
  }),
  makeCounterProvider({
    name: METRIC.routeMoves,
    help: 'Miners moved between the routes of a name, by reason (weights, route_down, route_up, routes_changed).',
    labelNames: ['proxy', 'user', 'reason'],
  }),
  makeGaugeProvider({
    name: METRIC.workerUp,
    help: 'The status of the worker (1 while connected).',
    labelNames: ['proxy', 'worker', 'user'],
  }),
  makeGaugeProvider({
    name: METRIC.poolUp,
    help: 'The status of the pool (1 while the proxy holds a connection to it).',
    labelNames: ['proxy', 'hash', 'pool'],
  }),
  makeGaugeProvider({ name: METRIC.poolDivider, help: 'The divider of the algorithm of the pool.', labelNames: ['proxy', 'hash', 'pool'] }),
  makeCounterProvider({ name: METRIC.workerSended, help: 'Shares sent by the worker to the pool.', labelNames: WORKER }),
  makeCounterProvider({ name: METRIC.workerOneSended, help: 'Difficulty-1 shares sent by the worker.', labelNames: WORKER }),
  makeCounterProvider({ name: METRIC.workerAccepted, help: 'Shares of the worker accepted by the pool.', labelNames: WORKER }),
  makeCounterProvider({
    name: METRIC.workerOneAccepted,
    help: 'Difficulty-1 shares of the worker accepted by the pool.',
    labelNames: WORKER,
  }),
  makeGaugeProvider({
    name: METRIC.workerSpeed,
    help: 'Worker speed in hashes per second (5-minute window, refreshed every minute).',
    labelNames: WORKER,
  }),
  makeGaugeProvider({
    name: METRIC.workerDifficulty,
    help: "The worker's own difficulty (at most the pool's; see proxy_channel_difficulty).",
    labelNames: WORKER,
  }),
  makeCounterProvider({
    name: METRIC.shares,
    help: 'Shares answered, by result (accepted or rejected).',
    labelNames: ['proxy', 'user', 'hash', 'pool', 'result'],
  }),
  makeCounterProvider({
    name: METRIC.difficultyOneShares,
    help: 'Difficulty-1 shares answered (difficulty / divider), by result.',
    labelNames: ['proxy', 'user', 'hash', 'pool', 'result'],
  }),
  makeCounterProvider({
    name: METRIC.sharesRejected,
    help: 'Rejected shares by reason: the pool verdict or the proxy check that refused it.',
    labelNames: ['proxy', 'user', 'hash', 'pool', 'reason'],
  }),
  makeGaugeProvider({
    name: METRIC.userSpeed,
    help: 'User speed in hashes per second (5-minute window, all workers).',
    labelNames: ['proxy', 'user', 'hash', 'pool'],
  }),
  makeGaugeProvider({ name: METRIC.workersConnected, help: 'Authorized workers connected now.', labelNames: ['proxy'] }),
  makeGaugeProvider({ name: METRIC.poolConnections, help: 'Open connections to the pool.', labelNames: ['proxy', 'pool'] }),
  makeHistogramProvider({
    name: METRIC.shareRoundTrip,
    help: 'Time from forwarding a share to the pool to its verdict.',
    labelNames: ['proxy', 'pool'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  makeCounterProvider({
    name: METRIC.upstreamConnects,
    help: 'Connection attempts to pools, by outcome.',
    labelNames: ['proxy', 'pool', 'outcome'],
  }),
  makeCounterProvider({
    name: METRIC.protocolErrors,
    help: 'Protocol errors, by side (miner or pool) and kind.',
    labelNames: ['proxy', 'side', 'kind'],
  }),
  makeCounterProvider({
    name: METRIC.rigShares,
    help: 'Shares answered per rig (stable across reconnects), by result.',
    labelNames: ['proxy', 'user', 'rig', 'hash', 'pool', 'result'],
  }),
  makeCounterProvider({
    name: METRIC.rigDifficultyOneShares,
    help: 'Difficulty-1 shares answered per rig, by result.',
    labelNames: ['proxy', 'user', 'rig', 'hash', 'pool', 'result'],
  }),
  makeGaugeProvider({
    name: METRIC.rigSpeed,
    help: 'Rig speed in hashes per second (5-minute window).',
    labelNames: ['proxy', 'user', 'rig', 'hash', 'pool'],
  }),
  makeCounterProvider({
    name: METRIC.blocksFound,
    help: 'Shares that met the block target of their job.',
    labelNames: ['proxy', 'user', 'hash', 'pool'],
  }),
  makeCounterProvider({
    name: METRIC.workerValid,
    help: "Shares of the worker valid at its own difficulty (checked by the proxy), whether or not they met the pool's.",
    labelNames: WORKER,
  }),
  makeCounterProvider({
    name: METRIC.workerOneValid,
    help: 'Difficulty-1 shares of the worker valid at its own difficulty: what its speed is computed from.',
    labelNames: WORKER,
  }),
  makeGaugeProvider({
    name: METRIC.channelSessions,
    help: 'Miner sessions on each pool connection (channel) of an account.',
    labelNames: ['proxy', 'pool', 'channel'],
  }),
  makeGaugeProvider({
    name: METRIC.channelDifficulty,
    help: "The pool's difficulty on each channel: shares meeting it are forwarded.",
    labelNames: ['proxy', 'pool', 'channel'],
  }),
  makeCounterProvider({
    name: METRIC.failovers,
    help: "Times a name's miners moved to another of its accounts (from and to: pools), by reason.",
    labelNames: ['proxy', 'user', 'from', 'to', 'reason'],
  }),
  makeCounterProvider({
    name: METRIC.minerDisconnects,
    help: 'Miner connections closed, by reason (client-closed, too-much-junk, invalid-shares, line-timeout, ...).',
    labelNames: ['proxy', 'reason'],
  }),
  makeCounterProvider({
    name: METRIC.rigConnects,
    help: "Connections of a rig's workers (every connect and reconnect): a rising rate is a rig that keeps reconnecting.",
    labelNames: ['proxy', 'user', 'rig', 'hash', 'pool'],
  }),
  makeCounterProvider({
    name: METRIC.rigOverflow,
    help: 'Workers accounted as the rig "other" because their name had --metrics.maxRigsPerUser rigs already.',
    labelNames: ['proxy', 'user'],
  }),
];
