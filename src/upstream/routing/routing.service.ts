import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { AccountingService } from '../../accounting/accounting.service.js';
import { HASHES_PER_SHARE } from '../../accounting/rate-window.js';
import { APP_CONFIG, type AppConfig } from '../../config/app-config.js';
import { METRIC } from '../../metrics/proxy-metrics.js';
import type { User } from '../../users/user.entity.js';
import { routesOf, type NameAccount, type NameRoute } from '../../users/users.service.js';
import type { Channel } from '../channel.js';
import { MoveReason, RouteMove, WeightedRouter } from './weighted-router.js';

/** prom-client calls a metric's `collect` before every read; its typings only take one in the constructor. */
type CollectedGauge = Gauge & { collect?: () => void };

/** What the miner-facing side does for the routing: the mechanics, never the decision. */
export interface RoutingMechanics {
  /** Moves an authorized session to a channel of the route it is on now (kept connected, clean job). */
  move(sessionId: string): void;
  /**
   * Holds a channel of a route that is down open without a miner on it, and calls `up` once one of its
   * accounts works again; the returned function lets it go.
   */
  watch(name: string, accounts: readonly NameAccount[], up: () => void): () => void;
}

/** Where a session is: the route decided, and the channel it sits on with that channel's route. */
interface Seat {
  route: number;
  channel: Channel | null;
  channelRoute: number;
}

/** One name with more than one route: its router, its routes as stored, and where its sessions are. */
interface RoutedName {
  user: User;
  routes: NameRoute[];
  readonly router: WeightedRouter;
  readonly sessions: Map<string, Seat>;
  /** Routes found down, each with the watcher that tells when it is back. */
  readonly down: Map<number, () => void>;
}

/** Work per millisecond (difficulty-1 shares) from a hashrate in hashes per second. */
const workPerMs = (hashesPerSecond: number) => hashesPerSecond / HASHES_PER_SHARE / 1000;

/**
 * Routing by weight at run time (issue 23): one WeightedRouter per name with more than one route, fed with
 * the accepted work of its sessions and their measured hashrate, ticked every tenth of --routing.period;
 * its moves are carried out by the miner-facing side (RoutingMechanics). A name with one route never
 * reaches a router: `place` answers route 0 and nothing is tracked.
 */
@Injectable()
export class RoutingService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RoutingService.name);
  private readonly names = new Map<string, RoutedName>();
  /** Session id -> its routed name (only sessions of names with several routes). */
  private readonly sessions = new Map<string, RoutedName>();
  private mechanics: RoutingMechanics | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly accounting: AccountingService,
    @InjectMetric(METRIC.routeWeight) private readonly weightGauge: CollectedGauge,
    @InjectMetric(METRIC.routeHashrate) private readonly hashrateGauge: CollectedGauge,
    @InjectMetric(METRIC.routeMoves) private readonly movesCounter: Counter,
  ) {}

  get periodMs(): number {
    return this.config.routing.periodMs;
  }

  /** Some session of a name with several routes is tracked (else the share path skips the routing). */
  get active(): boolean {
    return this.sessions.size > 0;
  }

  setMechanics(mechanics: RoutingMechanics): void {
    this.mechanics = mechanics;
  }

  onModuleInit(): void {
    const proxy = this.config.metricsTag;
    this.weightGauge.collect = () => {
      this.weightGauge.reset();
      for (const [name, routed] of this.names)
        for (const [i, route] of routed.routes.entries()) this.weightGauge.set({ proxy, user: name, route: String(i) }, route.weight);
    };
    this.hashrateGauge.collect = () => {
      this.hashrateGauge.reset();
      for (const [name, routed] of this.names) {
        const rates = this.routeHashrates(routed);
        for (const [i, rate] of rates.entries()) this.hashrateGauge.set({ proxy, user: name, route: String(i) }, rate);
      }
    };
    this.timer = setInterval(() => this.tick(Date.now()), Math.max(100, this.periodMs / 10));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const routed of this.names.values()) for (const stop of routed.down.values()) stop();
    this.names.clear();
    this.sessions.clear();
    for (const gauge of [this.weightGauge, this.hashrateGauge]) {
      gauge.collect = undefined;
      gauge.reset();
    }
  }

  /**
   * The route a session of the user mines on: route 0 for a name with one route (nothing tracked); else
   * where the router places it (a session already placed keeps its route: a move asks again).
   */
  place(sessionId: string, user: User): { index: number; accounts: readonly NameAccount[] } {
    const current = this.sessions.get(sessionId);
    if (current && current.user.name !== user.name) this.leave(sessionId);
    if (!user.routes || user.routes.length === 0) return { index: 0, accounts: routesOf(user)[0].accounts };
    const routed = this.routedName(user);
    const now = Date.now();
    let seat = routed.sessions.get(sessionId);
    if (!seat) {
      const rate = workPerMs(this.accounting.workerHashrate(sessionId, now));
      const route = routed.router.join(sessionId, now, rate);
      seat = { route: route === null ? 0 : Number(route), channel: null, channelRoute: -1 };
      routed.sessions.set(sessionId, seat);
      this.sessions.set(sessionId, routed);
    }
    return { index: seat.route, accounts: routed.routes[seat.route].accounts };
  }

  /** The channel a placed session sits on now (for the route's active account and its availability). */
  seated(sessionId: string, channel: Channel): void {
    const seat = this.sessions.get(sessionId)?.sessions.get(sessionId);
    if (!seat) return;
    seat.channel = channel;
    seat.channelRoute = seat.route;
  }

  leave(sessionId: string): void {
    const routed = this.sessions.get(sessionId);
    if (!routed) return;
    this.sessions.delete(sessionId);
    routed.sessions.delete(sessionId);
    routed.router.leave(sessionId);
    if (routed.sessions.size === 0) this.forget(routed.user.name);
  }

  /** An accepted share of a session: its route's work (difficulty-1 shares). Nothing for unrouted names. */
  credit(sessionId: string, work: number): void {
    if (this.sessions.size === 0) return;
    const routed = this.sessions.get(sessionId);
    const seat = routed?.sessions.get(sessionId);
    if (routed && seat) routed.router.credit(String(seat.route), work, Date.now());
  }

  /**
   * A session heard that its channel works (up) or that none of its accounts does (down). Down: the
   * route's miners go to the other routes, and a watcher holds the route's channel until it works again.
   */
  channelState(sessionId: string, channel: Channel, up: boolean): void {
    const routed = this.sessions.get(sessionId);
    const seat = routed?.sessions.get(sessionId);
    if (!routed || !seat || seat.channel !== channel) return;
    // The route of the channel that spoke: a move decided but not carried out yet does not count.
    const route = seat.channelRoute;
    if (up) return this.routeUp(routed, route);
    if (routed.down.has(route) || !this.mechanics) return;
    routed.down.set(route, () => undefined);
    const stop = this.mechanics.watch(routed.user.name, routed.routes[route].accounts, () => this.routeUp(routed, route));
    if (routed.down.has(route)) routed.down.set(route, stop);
    else stop();
    this.apply(routed, routed.router.setAvailable(String(route), false, Date.now()), 'route_down');
  }

  /** A name's routes were replaced: its router goes (the sessions are placed again by the caller). */
  forget(name: string): void {
    const routed = this.names.get(name);
    if (!routed) return;
    for (const stop of routed.down.values()) stop();
    for (const sessionId of routed.sessions.keys()) this.sessions.delete(sessionId);
    this.names.delete(name);
  }

  /** Counted and logged once per batch: `name X: moved N miners (reason)`. */
  countMoves(name: string, count: number, reason: MoveReason): void {
    if (count === 0) return;
    this.movesCounter.inc({ proxy: this.config.metricsTag, user: name, reason }, count);
    this.logger.log(`name ${name}: moved ${count} miner${count === 1 ? '' : 's'} (${reason})`);
  }

  /** Rates refreshed from accounting, then each router's moves. */
  tick(now: number): void {
    for (const routed of this.names.values()) {
      for (const sessionId of routed.sessions.keys())
        routed.router.setRate(sessionId, workPerMs(this.accounting.workerHashrate(sessionId, now)));
      this.apply(routed, routed.router.tick(now), 'weights');
    }
  }

  /** GET /api/v1/users/:name: each route's weight, active account, measured share of the work and hashrate. */
  view(user: User): { weight: number; active: { pool: string; user: string } | null; share: number; hashrate: number }[] {
    const routes = routesOf(user);
    const routed = this.names.get(user.name);
    if (!routed) {
      const hashrate = this.accounting.userHashrate(user.name);
      return routes.map((route, i) => ({
        weight: route.weight,
        active: null,
        share: i === 0 && hashrate > 0 ? 1 : 0,
        hashrate: i === 0 ? hashrate : 0,
      }));
    }
    const shares = routed.router.shares();
    const rates = this.routeHashrates(routed);
    return routed.routes.map((route, i) => {
      let active: { pool: string; user: string } | null = null;
      for (const seat of routed.sessions.values())
        if (seat.channelRoute === i && seat.channel && !seat.channel.closed) {
          active = { pool: seat.channel.poolAddress, user: seat.channel.account.user };
          break;
        }
      return { weight: route.weight, active, share: shares.get(String(i)) ?? 0, hashrate: rates[i] ?? 0 };
    });
  }

  private routeUp(routed: RoutedName, route: number): void {
    const stop = routed.down.get(route);
    if (!stop) return;
    routed.down.delete(route);
    stop();
    this.apply(routed, routed.router.setAvailable(String(route), true, Date.now()), 'route_up');
  }

  /**
   * Carries out a batch of moves. A route that came back is told so inside its channel's ready event:
   * those moves wait for the next turn of the event loop, so that the miners join a channel that has
   * finished telling its members (and holds the pool's first job). Moves away from a route that is down
   * are made at once (a miner still authorizing then waits for the other route instead of failing).
   */
  private apply(routed: RoutedName, moves: readonly RouteMove[], reason: MoveReason): void {
    const moved: string[] = [];
    for (const move of moves) {
      const seat = routed.sessions.get(move.miner);
      if (!seat) continue;
      seat.route = Number(move.to);
      moved.push(move.miner);
    }
    if (moved.length === 0) return;
    this.countMoves(routed.user.name, moved.length, reason);
    const carryOut = () => {
      for (const sessionId of moved) if (routed.sessions.has(sessionId)) this.mechanics?.move(sessionId);
    };
    if (reason === 'route_up') setImmediate(carryOut);
    else carryOut();
  }

  private routedName(user: User): RoutedName {
    let routed = this.names.get(user.name);
    if (routed) {
      routed.user = user;
      return routed;
    }
    const routes = routesOf(user);
    const weights = routes.map((route, i) => ({ id: String(i), weight: route.weight }));
    routed = {
      user,
      routes,
      router: new WeightedRouter(weights, { periodMs: this.periodMs }, Date.now()),
      sessions: new Map(),
      down: new Map(),
    };
    this.names.set(user.name, routed);
    return routed;
  }

  /** The measured hashrate of each route: the sum of its sessions' (h/s). */
  private routeHashrates(routed: RoutedName): number[] {
    const rates = routed.routes.map(() => 0);
    const now = Date.now();
    for (const [sessionId, seat] of routed.sessions) rates[seat.route] += this.accounting.workerHashrate(sessionId, now);
    return rates;
  }
}
