import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { METRIC } from '../metrics/proxy-metrics.js';
import { UNKNOWN_ALGORITHM } from '../pools/algorithms/share-hashers.js';
import { RateWindow } from './rate-window.js';
import { OutcomeSummary, RecentOutcomes } from './recent-outcomes.js';
import { OVERFLOW_RIG, RigPlaces } from './rig-places.js';
import { newStatsSlot, StatsRecorder, StatsSlot } from './stats-recorder.js';

/** Who a worker is, for the metric labels. */
export interface WorkerInfo {
  readonly sessionId: string;
  /** What the API shows for the session: not its id, which is the key to resume it. */
  readonly sessionTag: string;
  /** The miner's ip:port (the original's `worker` label). */
  readonly address: string;
  readonly ip: string;
  /** The registered name. */
  readonly user: string;
  readonly rig: string | null;
  /** The algorithm's name. */
  readonly hash: string;
  /** The host:port of the pool the worker mines on now (its name's active account). */
  readonly pool: string;
  /** The account it mines for: 0 the primary, 1 the first backup...; `user` the pool login. */
  readonly account: { readonly index: number; readonly user: string };
  /** Connected over the TLS listener. */
  readonly tls?: boolean;
  readonly divider: number;
  /**
   * The proxy checks this worker's shares itself (known algorithm, --shares.validate): its speed comes from
   * every share valid at its own difficulty, not only from what the pool accepted.
   */
  readonly validated: boolean;
}

/** Why a share was rejected: the pool's verdict, or the proxy check that refused it. */
export type RejectReason =
  | 'job_not_found'
  | 'duplicate'
  | 'low_difficulty'
  | 'invalid_ntime'
  | 'other'
  | 'timeout'
  | 'malformed'
  | 'unknown_job'
  | 'version_mask'
  | 'pool_down'
  | 'stale'
  | 'local_duplicate'
  | 'local_low_difficulty'
  | 'local_invalid_ntime'
  | 'local_probation';

export type ShareOutcome = { readonly accepted: true } | { readonly accepted: false; readonly reason: RejectReason };

export interface ShareCounts {
  sent: number;
  accepted: number;
  rejected: number;
  oneSent: number;
  oneAccepted: number;
  oneRejected: number;
  /** Valid at the worker's own difficulty (validated workers only). */
  valid: number;
  oneValid: number;
  /** What rounding lost from each difficulty-1 sum (Neumaier's compensation), added back when published. */
  readonly lost: Record<DifficultyOneCount, number>;
}

type DifficultyOneCount = 'oneSent' | 'oneAccepted' | 'oneRejected' | 'oneValid';
type Count = Exclude<keyof ShareCounts, 'lost'>;

/**
 * Adds to a difficulty-1 sum, keeping what the addition rounded off: however many shares of 0.001 a worker
 * sends, its published sum is the exact one rounded once (0.047, not 0.047000000000000035).
 */
function addDifficultyOne(counts: ShareCounts, key: DifficultyOneCount, value: number): void {
  // Named fields, not counts[key]: a keyed access that sees four names is a megamorphic lookup per share.
  const lost = counts.lost;
  switch (key) {
    case 'oneSent':
      lost.oneSent += roundedOff(counts.oneSent, value);
      counts.oneSent += value;
      return;
    case 'oneAccepted':
      lost.oneAccepted += roundedOff(counts.oneAccepted, value);
      counts.oneAccepted += value;
      return;
    case 'oneRejected':
      lost.oneRejected += roundedOff(counts.oneRejected, value);
      counts.oneRejected += value;
      return;
    case 'oneValid':
      lost.oneValid += roundedOff(counts.oneValid, value);
      counts.oneValid += value;
  }
}

/** Neumaier's step: what `sum + value` rounds off. */
function roundedOff(sum: number, value: number): number {
  const next = sum + value;
  return Math.abs(sum) >= Math.abs(value) ? sum - next + value : value - next + sum;
}

/** A count as published: a difficulty-1 sum with its compensation. */
function published(counts: ShareCounts, key: Count): number {
  return key in counts.lost ? counts[key] + counts.lost[key as DifficultyOneCount] : counts[key];
}

/** One series of a metric published from the records. */
interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A prom-client metric whose `get` (what /metrics and the registry read) is replaced by ours. */
type PublishedMetric = { get: () => Promise<unknown> };

const newCounts = (): ShareCounts => ({
  sent: 0,
  accepted: 0,
  rejected: 0,
  oneSent: 0,
  oneAccepted: 0,
  oneRejected: 0,
  valid: 0,
  oneValid: 0,
  lost: { oneSent: 0, oneAccepted: 0, oneRejected: 0, oneValid: 0 },
});

interface WorkerRecord {
  info: WorkerInfo;
  /** The `worker` labels, made once per info: published with every read. */
  labels: Record<string, string>;
  /** The share round trip histogram's labels, made once per info. */
  roundTripLabels: Record<string, string>;
  /** The user's and the rig's group, looked up once per info: the share path allocates nothing for them. */
  user: GroupRecord;
  rig: GroupRecord;
  /** The rig label it is accounted under (RigPlaces): its rig or IP trimmed, or the overflow rig. */
  rigLabel: string;
  connected: boolean;
  connectedSince: number;
  /** When its last share was answered or found valid (null: none yet). */
  lastShareAt: number | null;
  difficulty: number | null;
  readonly counts: ShareCounts;
  readonly window: RateWindow;
  /** The statistics row its shares of this minute go to. */
  readonly stats: StatsSlot;
}

interface GroupRecord {
  readonly key: string;
  /** The user and (rig groups) the rig label, as in `labels`. */
  readonly user: string;
  readonly rig: string | null;
  readonly labels: Record<string, string>;
  /** Answered shares of this group; published as counters when Prometheus collects. */
  readonly counts: ShareCounts;
  readonly window: RateWindow;
  since: number;
  liveWorkers: number;
  lastConnectedAt: number;
  /** Connections of the rig's workers (each connect or reconnect), published per rig. */
  connects: number;
  /** Removed from its map (an expired rig): the workers that hold it look their group up again. */
  swept: boolean;
}

/** The windows farm operators know from other proxies, for the workers API. */
export const HASHRATE_WINDOWS = { '1m': 60_000, '10m': 600_000, '1h': 3_600_000, '12h': 43_200_000, '24h': 86_400_000 } as const;
const RIG_SWEEP_MS = 10 * 60_000;

/** What the farm page shows at a glance (GET /api/v1/farm adds the registered pools that are down). */
export interface FarmSummary {
  /** Hashes per second over the speed window, every user. */
  hashrate: number;
  /** The same per registered name. */
  users: Record<string, number>;
  workers: number;
  shares: OutcomeSummary;
  pools: { pool: string; algorithm: string; connections: number }[];
}

export interface WorkerSnapshot {
  session: string;
  worker: string;
  user: string;
  rig: string | null;
  pool: string;
  /** The account the worker mines for now (index 0: the primary). */
  account: { index: number; pool: string; user: string };
  /** Connected over the TLS listener (stratum+ssl). */
  tls: boolean;
  algorithm: string;
  difficulty: number | null;
  shares: { sent: number; accepted: number; rejected: number; valid: number };
  hashrate: Record<keyof typeof HASHRATE_WINDOWS, number>;
  connectedSince: string;
  /** When its last share was answered or found valid (ISO), null before the first. */
  lastShare: string | null;
}

/**
 * Share bookkeeping: every event from the Stratum side lands here, in memory and synchronously (nothing on
 * the share path waits for I/O). Prometheus counters move with the events; speeds are computed when it
 * scrapes; a worker's series go when its session ends; per-rig series go after --metrics.rigTtl unused.
 */
@Injectable()
export class AccountingService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AccountingService.name);
  private readonly workers = new Map<string, WorkerRecord>();
  private readonly users = new Map<string, GroupRecord>();
  private readonly rigs = new Map<string, GroupRecord>();
  /** The one place rig labels are bounded: every rig series, the statistics and the API take its label. */
  private readonly rigPlaces: RigPlaces;
  private readonly poolConnections = new Map<string, { hash: string; divider: number; count: number }>();
  /** Verdicts of the last hour, for the farm summary. */
  private readonly recent = new RecentOutcomes();
  private readonly timers: NodeJS.Timeout[] = [];
  private snapshot: { at: number; workers: WorkerSnapshot[] } = { at: 0, workers: [] };
  /** The metrics published from the records when Prometheus reads them (installCollectors). */
  private readonly published: PublishedMetric[] = [];
  /** Workers with connected = true, kept as a count so a connect storm stays linear. */
  private connectedCount = 0;
  private readonly proxy: string;
  private readonly speedWindowMs: number;
  /** The time speeds are computed for (refreshSpeeds), null: the time of the scrape. */
  private speedsAt: number | null = null;
  /** Injected clock, so tests can move time. */
  now: () => number = Date.now;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly stats: StatsRecorder,
    @InjectMetric(METRIC.workerUp) private readonly workerUp: Gauge,
    @InjectMetric(METRIC.poolUp) private readonly poolUp: Gauge,
    @InjectMetric(METRIC.poolDivider) private readonly poolDivider: Gauge,
    @InjectMetric(METRIC.workerSended) private readonly workerSended: Counter,
    @InjectMetric(METRIC.workerOneSended) private readonly workerOneSended: Counter,
    @InjectMetric(METRIC.workerAccepted) private readonly workerAccepted: Counter,
    @InjectMetric(METRIC.workerOneAccepted) private readonly workerOneAccepted: Counter,
    @InjectMetric(METRIC.workerSpeed) private readonly workerSpeed: Gauge,
    @InjectMetric(METRIC.workerDifficulty) private readonly workerDifficulty: Gauge,
    @InjectMetric(METRIC.shares) private readonly shares: Counter,
    @InjectMetric(METRIC.difficultyOneShares) private readonly difficultyOneShares: Counter,
    @InjectMetric(METRIC.sharesRejected) private readonly sharesRejected: Counter,
    @InjectMetric(METRIC.userSpeed) private readonly userSpeed: Gauge,
    @InjectMetric(METRIC.workersConnected) private readonly workersConnected: Gauge,
    @InjectMetric(METRIC.poolConnections) private readonly poolConnectionsGauge: Gauge,
    @InjectMetric(METRIC.shareRoundTrip) private readonly shareRoundTrip: Histogram,
    @InjectMetric(METRIC.upstreamConnects) private readonly upstreamConnects: Counter,
    @InjectMetric(METRIC.protocolErrors) private readonly protocolErrors: Counter,
    @InjectMetric(METRIC.minerDisconnects) private readonly minerDisconnects: Counter,
    @InjectMetric(METRIC.rigShares) private readonly rigShares: Counter,
    @InjectMetric(METRIC.rigDifficultyOneShares) private readonly rigDifficultyOneShares: Counter,
    @InjectMetric(METRIC.rigSpeed) private readonly rigSpeed: Gauge,
    @InjectMetric(METRIC.rigConnects) private readonly rigConnects: Counter,
    @InjectMetric(METRIC.blocksFound) private readonly blocksFound: Counter,
    @InjectMetric(METRIC.workerValid) private readonly workerValid: Counter,
    @InjectMetric(METRIC.workerOneValid) private readonly workerOneValid: Counter,
    @InjectMetric(METRIC.rigOverflow) private readonly rigOverflow: Counter,
  ) {
    this.proxy = config.metricsTag;
    this.speedWindowMs = config.metrics.speedWindowMs;
    this.rigPlaces = new RigPlaces(config.metrics.maxRigsPerUser);
  }

  /**
   * Rate windows fine enough for the speed window (within a few percent). A worker's reaches back a day
   * (the workers API); a user's or rig's only as far as the speed window, the one thing read from it.
   */
  private newWindow(longestMs?: number): RateWindow {
    return new RateWindow(this.speedWindowMs / 30, longestMs);
  }

  onModuleInit(): void {
    this.resetMetrics();
    this.installCollectors();
    this.workersConnected.set({ proxy: this.proxy }, 0);
    this.timers.push(setInterval(() => this.sweepRigs(), RIG_SWEEP_MS).unref());
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearInterval(timer);
    // Back to prom-client's own `get` (the prototype's): a later app in the same process starts clean.
    for (const metric of this.published.splice(0)) delete (metric as Partial<PublishedMetric>).get;
    // The registry is process-wide: a later app in the same process (tests) starts from zero.
    this.resetMetrics();
  }

  // ---- workers ----

  /** A worker authorized, or resumed on a new connection (its session keeps its totals). */
  workerConnected(info: WorkerInfo): void {
    const now = this.now();
    let record = this.workers.get(info.sessionId);
    // Authorized with another name: the worker starts over under that user's labels.
    if (record && record.info.user !== info.user) {
      this.workerEnded(info.sessionId);
      record = undefined;
    }
    const rigLabel = this.placeRig(info, record);
    if (record) {
      this.workerDisconnected(info.sessionId);
      const moved = record.info.address !== info.address || record.info.hash !== info.hash || record.info.pool !== info.pool;
      if (moved) this.removeWorkerSeries(record);
      record.info = info;
      record.labels = this.workerLabels(info);
      record.roundTripLabels = this.roundTripLabels(info);
      record.rigLabel = rigLabel;
      record.user = this.userGroup(info);
      record.rig = this.rigGroup(info, rigLabel);
    } else {
      record = {
        info,
        labels: this.workerLabels(info),
        roundTripLabels: this.roundTripLabels(info),
        user: this.userGroup(info),
        rig: this.rigGroup(info, rigLabel),
        rigLabel,
        connected: false,
        connectedSince: now,
        lastShareAt: null,
        difficulty: null,
        counts: newCounts(),
        window: this.newWindow(),
        stats: newStatsSlot(),
      };
      this.workers.set(info.sessionId, record); // its counters are collected from the first moment, at zero
    }
    record.connected = true;
    this.connectedCount++;
    this.workerUp.set(this.upLabels(info), 1);
    if (record.difficulty !== null) this.workerDifficulty.set(this.workerLabels(info), record.difficulty);
    const rig = record.rig;
    rig.liveWorkers++;
    rig.lastConnectedAt = now;
    rig.connects++;
    this.updateWorkersConnected();
  }

  /** The worker's connection closed; its session may still be resumed. */
  workerDisconnected(sessionId: string): void {
    const record = this.workers.get(sessionId);
    if (!record || !record.connected) return;
    record.connected = false;
    this.connectedCount--;
    if (this.publishes(record)) this.workerUp.set(this.upLabels(record.info), 0);
    else this.removeWorkerSeries(record);
    const rig = record.rig; // a connected worker's rig group is never swept
    rig.liveWorkers--;
    rig.lastConnectedAt = this.now();
    this.updateWorkersConnected();
  }

  /** The session ended: the worker's series go (user, pool and rig totals stay). */
  workerEnded(sessionId: string): void {
    const record = this.workers.get(sessionId);
    if (!record) return;
    this.workerDisconnected(sessionId);
    this.removeWorkerSeries(record);
    this.workers.delete(sessionId);
  }

  workerDifficultyChanged(sessionId: string, difficulty: number): void {
    const record = this.workers.get(sessionId);
    if (!record) return;
    record.difficulty = difficulty;
    this.workerDifficulty.set(this.workerLabels(record.info), difficulty);
  }

  // ---- shares ----

  /** A share was forwarded to the pool; `difficulty` is the one its job was issued under. */
  shareForwarded(sessionId: string, difficulty: number): void {
    const record = this.workers.get(sessionId);
    if (!record) return;
    const one = difficulty / record.info.divider;
    record.counts.sent++;
    addDifficultyOne(record.counts, 'oneSent', one);
    this.stats.record(record.info.user, this.statsWorker(record), 'sent', one, this.now(), record.stats);
  }

  /** The answer to a share: the pool's verdict, or a local rejection (then it was never forwarded). */
  shareAnswered(sessionId: string, difficulty: number, outcome: ShareOutcome, roundTripSeconds?: number): void {
    const record = this.workers.get(sessionId);
    if (!record) return;
    const info = record.info;
    const now = this.now();
    record.lastShareAt = now;
    this.recent.add(now, outcome.accepted ? null : outcome.reason);
    const one = difficulty / info.divider;
    const user = this.groupOf(record, false);
    const rig = this.groupOf(record, true);
    if (roundTripSeconds !== undefined) this.shareRoundTrip.observe(record.roundTripLabels, roundTripSeconds);
    // Counters move in plain numbers here and reach Prometheus when it collects (installCollectors): a
    // labelled prom-client update per share and series was a quarter of everything the share path allocated.
    for (const counts of [record.counts, user.counts, rig.counts]) {
      if (outcome.accepted) {
        counts.accepted++;
        addDifficultyOne(counts, 'oneAccepted', one);
      } else {
        counts.rejected++;
        addDifficultyOne(counts, 'oneRejected', one);
      }
    }
    if (outcome.accepted) {
      // A validated worker's speed comes from shareValid, at its own difficulty.
      if (!info.validated) this.addToWindows(record, user, rig, one, now);
      this.stats.record(info.user, this.statsWorker(record), 'accepted', one, now, record.stats);
    } else {
      this.sharesRejected.inc({ proxy: this.proxy, user: info.user, hash: info.hash, pool: info.pool, reason: outcome.reason });
      this.stats.record(info.user, this.statsWorker(record), 'rejected', one, now, record.stats);
    }
  }

  /**
   * A share the proxy found valid at the worker's own difficulty (forwarded to the pool or not): it counts
   * for the worker's valid shares and its speed, user's and rig's too.
   */
  shareValid(sessionId: string, difficulty: number): void {
    const record = this.workers.get(sessionId);
    if (!record) return;
    const info = record.info;
    const one = difficulty / info.divider;
    const now = this.now();
    record.lastShareAt = now;
    record.counts.valid++;
    addDifficultyOne(record.counts, 'oneValid', one);
    this.addToWindows(record, this.groupOf(record, false), this.groupOf(record, true), one, now);
  }

  private addToWindows(record: WorkerRecord, user: GroupRecord, rig: GroupRecord, one: number, now: number): void {
    record.window.add(one, now);
    user.window.add(one, now);
    rig.window.add(one, now);
  }

  // ---- pools and protocol ----

  poolConnected(pool: string, hash: string, divider: number): void {
    const entry = this.poolConnections.get(pool) ?? { hash, divider, count: 0 };
    entry.count++;
    this.poolConnections.set(pool, entry);
    this.poolUp.set({ proxy: this.proxy, hash, pool }, 1);
    if (hash !== UNKNOWN_ALGORITHM) this.poolDivider.set({ proxy: this.proxy, hash, pool }, divider);
    this.poolConnectionsGauge.set({ proxy: this.proxy, pool }, entry.count);
  }

  /** A pool's algorithm became known (or was corrected): its series move to the new `hash` label. */
  poolAlgorithmChanged(pool: string, hash: string, divider: number): void {
    const entry = this.poolConnections.get(pool);
    if (!entry || entry.count === 0 || (entry.hash === hash && entry.divider === divider)) return;
    this.poolUp.remove({ proxy: this.proxy, hash: entry.hash, pool });
    this.poolDivider.remove({ proxy: this.proxy, hash: entry.hash, pool });
    entry.hash = hash;
    entry.divider = divider;
    this.poolUp.set({ proxy: this.proxy, hash, pool }, 1);
    if (hash !== UNKNOWN_ALGORITHM) this.poolDivider.set({ proxy: this.proxy, hash, pool }, divider);
  }

  /** A share met the block target of its job. */
  blockFound(info: WorkerInfo): void {
    this.blocksFound.inc({ proxy: this.proxy, user: info.user, hash: info.hash, pool: info.pool });
  }

  poolDisconnected(pool: string): void {
    const entry = this.poolConnections.get(pool);
    if (!entry || entry.count === 0) return;
    entry.count--;
    this.poolConnectionsGauge.set({ proxy: this.proxy, pool }, entry.count);
    if (entry.count === 0) {
      this.poolUp.remove({ proxy: this.proxy, hash: entry.hash, pool });
      this.poolDivider.remove({ proxy: this.proxy, hash: entry.hash, pool });
    }
  }

  upstreamConnectAttempt(pool: string, outcome: 'success' | 'failure' | 'refused' | 'tls_failure'): void {
    this.upstreamConnects.inc({ proxy: this.proxy, pool, outcome });
  }

  protocolError(side: 'miner' | 'pool', kind: string): void {
    this.protocolErrors.inc({ proxy: this.proxy, side, kind });
  }

  /** A miner connection ended (every reason, the miner's own close included). */
  minerDisconnected(reason: string): void {
    this.minerDisconnects.inc({ proxy: this.proxy, reason });
  }

  // ---- speeds, snapshots, sweeping ----

  /**
   * Speeds are computed when Prometheus reads them, from the same windows as the workers API: this pins
   * them to the time `now` instead (tests with a clock of their own); without it they follow the clock again.
   */
  refreshSpeeds(now?: number): void {
    this.speedsAt = now ?? null;
  }

  /** Drops the series of rigs unused for longer than --metrics.rigTtl. */
  sweepRigs(now = this.now()): void {
    for (const [key, rig] of this.rigs) {
      if (rig.liveWorkers > 0 || now - rig.lastConnectedAt < this.config.metrics.rigTtlMs) continue;
      this.rigs.delete(key); // its series are collected from this.rigs, so they go with it
      rig.swept = true;
      this.rigPlaces.release(rig.user, rig.rig!);
    }
  }

  /** Connected workers, from a snapshot at most a second old: API calls never walk live state. */
  workersSnapshot(): WorkerSnapshot[] {
    const now = this.now();
    if (now - this.snapshot.at < 1000) return this.snapshot.workers;
    const workers: WorkerSnapshot[] = [];
    for (const record of this.workers.values()) {
      if (!record.connected) continue;
      const { info, counts } = record;
      const hashrate = {} as Record<keyof typeof HASHRATE_WINDOWS, number>;
      for (const [name, windowMs] of Object.entries(HASHRATE_WINDOWS) as [keyof typeof HASHRATE_WINDOWS, number][]) {
        hashrate[name] = record.window.hashrate(windowMs, now, record.connectedSince);
      }
      workers.push({
        session: info.sessionTag,
        worker: info.address,
        user: info.user,
        rig: info.rig === null ? null : record.rigLabel,
        pool: info.pool,
        account: { index: info.account.index, pool: info.pool, user: info.account.user },
        tls: info.tls ?? false,
        algorithm: info.hash,
        difficulty: record.difficulty,
        shares: { sent: counts.sent, accepted: counts.accepted, rejected: counts.rejected, valid: counts.valid },
        hashrate,
        connectedSince: new Date(record.connectedSince).toISOString(),
        lastShare: record.lastShareAt === null ? null : new Date(record.lastShareAt).toISOString(),
      });
    }
    this.snapshot = { at: now, workers };
    return workers;
  }

  /** A user's hashrate over the speed window (0 when it has no workers now or recently). */
  /** The farm at a glance: hashrate of every user, workers connected, verdicts of the last hour, pools connected. */
  farmSummary(now = this.now()): FarmSummary {
    let hashrate = 0;
    const users = new Map<string, number>();
    for (const group of this.users.values()) {
      if (group.labels.hash === UNKNOWN_ALGORITHM) continue;
      const rate = group.window.hashrate(this.speedWindowMs, now, group.since);
      hashrate += rate;
      users.set(group.labels.user, (users.get(group.labels.user) ?? 0) + rate);
    }
    const pools = Array.from(this.poolConnections, ([pool, entry]) => ({ pool, algorithm: entry.hash, connections: entry.count })).filter(
      (pool) => pool.connections > 0,
    );
    return { hashrate, users: Object.fromEntries(users), workers: this.connectedCount, shares: this.recent.summary(now), pools };
  }

  /** A session's hashrate over the speed window (0: unknown session or nothing measured yet): routing's rates. */
  workerHashrate(sessionId: string, now = this.now()): number {
    const record = this.workers.get(sessionId);
    return record ? record.window.hashrate(this.speedWindowMs, now, record.connectedSince) : 0;
  }

  userHashrate(user: string, now = this.now()): number {
    let total = 0;
    for (const group of this.users.values())
      if (group.labels.user === user) total += group.window.hashrate(this.speedWindowMs, now, group.since);
    return total;
  }

  /** The worker's user or rig group: the one it holds, unless that was swept meanwhile. */
  private groupOf(record: WorkerRecord, perRig: boolean): GroupRecord {
    const held = perRig ? record.rig : record.user;
    if (!held.swept) return held;
    const group = perRig ? this.rigGroup(record.info, record.rigLabel) : this.userGroup(record.info);
    if (perRig) record.rig = group;
    else record.user = group;
    return group;
  }

  private userGroup(info: WorkerInfo): GroupRecord {
    return this.group(this.users, { proxy: this.proxy, user: info.user, hash: info.hash, pool: info.pool }, null);
  }

  /** `rig`: the label placeRig gave the worker. */
  private rigGroup(info: WorkerInfo, rig: string): GroupRecord {
    return this.group(this.rigs, { proxy: this.proxy, user: info.user, rig, hash: info.hash, pool: info.pool }, rig);
  }

  private group(map: Map<string, GroupRecord>, labels: Record<string, string>, rig: string | null): GroupRecord {
    const key = Object.values(labels).join('\u0000');
    let group = map.get(key);
    if (!group) {
      const now = this.now();
      group = {
        key,
        user: labels.user,
        rig,
        labels,
        counts: newCounts(),
        window: this.newWindow(this.speedWindowMs),
        since: now,
        liveWorkers: 0,
        lastConnectedAt: now,
        connects: 0,
        swept: false,
      };
      map.set(key, group);
      if (rig !== null) this.rigPlaces.hold(labels.user, rig);
    }
    return group;
  }

  /**
   * The rig label a worker is accounted under (its rig, or its IP without one): trimmed, or the overflow rig
   * past --metrics.maxRigsPerUser, which is counted and logged once per user.
   */
  private placeRig(info: WorkerInfo, previous: WorkerRecord | undefined): string {
    const place = this.rigPlaces.place(info.user, info.rig ?? info.ip);
    // A session that was under the overflow rig already (resumed, relabelled) is not counted twice.
    const counted = previous?.rigLabel === OVERFLOW_RIG && (previous.info.rig ?? previous.info.ip) === (info.rig ?? info.ip);
    if (place.overflowed && !counted) {
      this.rigOverflow.inc({ proxy: this.proxy, user: info.user });
      if (this.rigPlaces.firstOverflow(info.user))
        this.logger.warn(
          `user ${info.user}: more than ${this.config.metrics.maxRigsPerUser} rigs (--metrics.maxRigsPerUser), worker ${info.address} ` +
            `and further new rigs are accounted as rig "${OVERFLOW_RIG}" (proxy_rig_overflow_total) until rigs expire by --metrics.rigTtl`,
        );
    }
    return place.label;
  }

  /** The statistics' worker key: the rig label, else the address. */
  private statsWorker(record: WorkerRecord): string {
    return record.info.rig === null ? record.info.address : record.rigLabel;
  }

  private workerLabels(info: WorkerInfo) {
    return { proxy: this.proxy, worker: info.address, user: info.user, hash: info.hash, pool: info.pool };
  }

  private roundTripLabels(info: WorkerInfo) {
    return { proxy: this.proxy, pool: info.pool };
  }

  private upLabels(info: WorkerInfo) {
    return { proxy: this.proxy, worker: info.address, user: info.user };
  }

  /**
   * Worker counters exist for every session from its first moment (at zero) and carry the session's
   * totals, so a resumed worker continues where it was; they go with the session. User and rig totals
   * appear with their first share of each result and stay.
   */
  private installCollectors(): void {
    // Read straight from the records: prom-client's per-series label hashing cost about 75 ms of the event
    // loop per metric and scrape with 10,000 workers.
    const publish = (metric: Counter | Gauge, type: 'counter' | 'gauge', samples: () => Sample[]) => {
      const target = metric as unknown as PublishedMetric;
      const { name, help } = metric as unknown as { name: string; help: string };
      target.get = () => Promise.resolve({ name, help, type, values: samples(), aggregator: 'sum' });
      this.published.push(target);
    };
    const perWorker = (metric: Counter, count: Count) =>
      publish(metric, 'counter', () => {
        const samples: Sample[] = [];
        for (const record of this.workers.values())
          if (this.publishes(record)) samples.push({ labels: record.labels, value: published(record.counts, count) });
        return samples;
      });
    const perGroup = (metric: Counter, groups: Map<string, GroupRecord>, accepted: Count, rejected: Count) =>
      publish(metric, 'counter', () => {
        const samples: Sample[] = [];
        for (const { labels, counts } of groups.values()) {
          if (counts.accepted > 0) samples.push({ labels: { ...labels, result: 'accepted' }, value: published(counts, accepted) });
          if (counts.rejected > 0) samples.push({ labels: { ...labels, result: 'rejected' }, value: published(counts, rejected) });
        }
        return samples;
      });
    // Speeds at the time of the scrape, as the workers API computes them: a worker's from its first share.
    // Without a known algorithm there is no divider, so no hashrate to report.
    publish(this.workerSpeed, 'gauge', () => {
      const now = this.speedsAt ?? this.now();
      const samples: Sample[] = [];
      for (const record of this.workers.values())
        if (record.info.hash !== UNKNOWN_ALGORITHM && this.publishes(record))
          samples.push({ labels: record.labels, value: record.window.hashrate(this.speedWindowMs, now, record.connectedSince) });
      return samples;
    });
    const groupSpeed = (metric: Gauge, groups: Map<string, GroupRecord>) =>
      publish(metric, 'gauge', () => {
        const now = this.speedsAt ?? this.now();
        const samples: Sample[] = [];
        for (const group of groups.values())
          if (group.labels.hash !== UNKNOWN_ALGORITHM)
            samples.push({ labels: group.labels, value: group.window.hashrate(this.speedWindowMs, now, group.since) });
        return samples;
      });
    groupSpeed(this.userSpeed, this.users);
    groupSpeed(this.rigSpeed, this.rigs);
    perWorker(this.workerSended, 'sent');
    perWorker(this.workerOneSended, 'oneSent');
    perWorker(this.workerAccepted, 'accepted');
    perWorker(this.workerOneAccepted, 'oneAccepted');
    perWorker(this.workerValid, 'valid');
    perWorker(this.workerOneValid, 'oneValid');
    perGroup(this.shares, this.users, 'accepted', 'rejected');
    perGroup(this.difficultyOneShares, this.users, 'oneAccepted', 'oneRejected');
    perGroup(this.rigShares, this.rigs, 'accepted', 'rejected');
    perGroup(this.rigDifficultyOneShares, this.rigs, 'oneAccepted', 'oneRejected');
    publish(this.rigConnects, 'counter', () => Array.from(this.rigs.values(), (rig) => ({ labels: rig.labels, value: rig.connects })));
  }

  /**
   * A worker has series while connected, and while its session lingers only if it had shares: thousands of
   * short connections that never mined would otherwise each keep a set of zeros for the linger time.
   */
  private publishes(record: WorkerRecord): boolean {
    return record.connected || record.lastShareAt !== null || record.counts.sent > 0;
  }

  private removeWorkerSeries(record: WorkerRecord): void {
    const labels = this.workerLabels(record.info);
    this.workerUp.remove(this.upLabels(record.info));
    this.workerDifficulty.remove(labels);
  }

  private updateWorkersConnected(): void {
    this.workersConnected.set({ proxy: this.proxy }, this.connectedCount);
  }

  private resetMetrics(): void {
    for (const metric of [
      this.workerUp,
      this.poolUp,
      this.poolDivider,
      this.workerSended,
      this.workerOneSended,
      this.workerAccepted,
      this.workerOneAccepted,
      this.workerSpeed,
      this.workerDifficulty,
      this.shares,
      this.difficultyOneShares,
      this.sharesRejected,
      this.userSpeed,
      this.workersConnected,
      this.poolConnectionsGauge,
      this.shareRoundTrip,
      this.upstreamConnects,
      this.protocolErrors,
      this.minerDisconnects,
      this.rigShares,
      this.rigDifficultyOneShares,
      this.rigSpeed,
      this.rigConnects,
      this.blocksFound,
      this.workerValid,
      this.workerOneValid,
      this.rigOverflow,
    ]) {
      metric.reset();
    }
  }
}

/** The account most of these workers mine on, or null with none. */
export function mostUsed(workers: readonly WorkerSnapshot[]): WorkerSnapshot['account'] | null {
  const counts = new Map<number, { account: WorkerSnapshot['account']; count: number }>();
  for (const { account } of workers) {
    const entry = counts.get(account.index) ?? { account, count: 0 };
    entry.count++;
    counts.set(account.index, entry);
  }
  let best: { account: WorkerSnapshot['account']; count: number } | null = null;
  for (const entry of counts.values()) if (!best || entry.count > best.count) best = entry;
  return best?.account ?? null;
}
