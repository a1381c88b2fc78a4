/**
 * Which route of a name each of its miners mines on, so that each route's share of the name's work follows
 * its weight (issue 23). Pure: fed with events and a clock, it answers with moves; the channels do the
 * mechanics. Work is difficulty-1 shares (the unit hashrate is measured in), so the split is by hashrate,
 * not by miner count.
 *
 * The rule is a deficit scheduler. Each route's work is remembered with exponential decay over the period;
 * at every tick (a tenth of the period) the work expected over the next tick is shared out: a route's need
 * is its weight's part of (work done + work coming) minus the work it did. Miners are placed largest first:
 * a miner stays where its route still needs at least half of what it brings in a tick, else it goes where
 * the need is largest. Miners too few or too unequal for the weights are thereby divided in time (one miner
 * on 80/20 spends about 8 ticks of 10 on the first route), and luck in the shares is made up for.
 */

export interface RouteWeight {
  readonly id: string;
  /** Relative: 80 and 20 mean 80 % and 20 %. 0 takes nothing while another route is up. */
  readonly weight: number;
}

export interface RouteMove {
  readonly miner: string;
  readonly from: string | null;
  readonly to: string;
}

export type MoveReason = 'weights' | 'route_down' | 'route_up' | 'routes_changed';

export interface RouterOptions {
  /** The period over which the weights are met; decisions are taken every tenth of it. */
  readonly periodMs: number;
}

interface RouteState {
  weight: number;
  up: boolean;
  /** Work done on the route, decayed over the period. */
  done: number;
}

interface MinerState {
  /** Work per millisecond (0: not measured yet: the name's average is assumed). */
  rate: number;
  route: string | null;
}

/** How many ticks make a period: the resolution of the time division. */
export const TICKS_PER_PERIOD = 10;

export class WeightedRouter {
  private readonly routes = new Map<string, RouteState>();
  private readonly miners = new Map<string, MinerState>();
  private decayedAt: number;

  constructor(
    routes: readonly RouteWeight[],
    private readonly options: RouterOptions,
    now: number,
  ) {
    if (!(options.periodMs > 0)) throw new Error('the routing period must be positive');
    this.decayedAt = now;
    this.setRoutes(routes, now);
  }

  get tickMs(): number {
    return this.options.periodMs / TICKS_PER_PERIOD;
  }

  /** The route a miner is on (null: unknown miner, or no route is up). */
  routeOf(miner: string): string | null {
    return this.miners.get(miner)?.route ?? null;
  }

  /** Replaces the routes (ids kept keep their work); miners of a removed route are placed again. */
  setRoutes(routes: readonly RouteWeight[], now: number): RouteMove[] {
    if (routes.length === 0) throw new Error('a name needs at least one route');
    const ids = new Set<string>();
    for (const route of routes) {
      if (ids.has(route.id)) throw new Error(`route ${route.id} is listed twice`);
      if (!Number.isFinite(route.weight) || route.weight < 0) throw new Error(`route ${route.id}: the weight must be a number >= 0`);
      ids.add(route.id);
    }
    for (const id of Array.from(this.routes.keys())) if (!ids.has(id)) this.routes.delete(id);
    for (const route of routes) {
      const known = this.routes.get(route.id);
      if (known) known.weight = route.weight;
      else this.routes.set(route.id, { weight: route.weight, up: true, done: 0 });
    }
    this.forgiveDeficits(now);
    return this.placeStranded();
  }

  /**
   * A route's accounts all failed (up=false) or one works again. Its miners go elsewhere at once; the
   * deficits are forgiven both ways, so a route coming back gets its weight from then on rather than
   * catching up on the time it was down.
   */
  setAvailable(route: string, up: boolean, now: number): RouteMove[] {
    const state = this.routes.get(route);
    if (!state || state.up === up) return [];
    state.up = up;
    this.forgiveDeficits(now);
    return up ? this.tick(now) : this.placeStranded();
  }

  /** A miner of the name arrived: where it goes now. */
  join(miner: string, now: number, rate = 0): string | null {
    this.decay(now);
    const state: MinerState = { rate: Math.max(0, rate), route: null };
    this.miners.set(miner, state);
    const needs = this.needs();
    state.route = needs ? best(needs, null) : null;
    return state.route;
  }

  leave(miner: string): void {
    this.miners.delete(miner);
  }

  /** The miner's measured hashrate, as work (difficulty-1 shares) per millisecond. */
  setRate(miner: string, rate: number): void {
    const state = this.miners.get(miner);
    if (state && Number.isFinite(rate) && rate >= 0) state.rate = rate;
  }

  /** Work the route's pool accepted (difficulty-1 shares). */
  credit(route: string, work: number, now: number): void {
    const state = this.routes.get(route);
    if (!state || !(work > 0)) return;
    this.decay(now);
    state.done += work;
  }

  /** Each route's part of the work done over the period (0..1; all 0 before any work). */
  shares(): Map<string, number> {
    let total = 0;
    for (const route of this.routes.values()) total += route.done;
    const result = new Map<string, number>();
    for (const [id, route] of this.routes) result.set(id, total > 0 ? route.done / total : 0);
    return result;
  }

  /** The decision of a tick: the moves that bring each route towards its weight. */
  tick(now: number): RouteMove[] {
    this.decay(now);
    const needs = this.needs();
    if (!needs) return [];
    const moves: RouteMove[] = [];
    const average = this.averageRate();
    // Largest first: the big miners settle the split, the small ones fine-tune it.
    const order = Array.from(this.miners.entries()).sort((a, b) => b[1].rate - a[1].rate || (a[0] < b[0] ? -1 : 1));
    for (const [id, miner] of order) {
      const brings = (miner.rate || average) * this.tickMs;
      const current = miner.route;
      const stay = current !== null && needs.has(current) && needs.get(current)! >= brings / 2;
      const to = stay ? current : best(needs, current);
      needs.set(to, needs.get(to)! - brings);
      if (to !== current) {
        moves.push({ miner: id, from: current, to });
        miner.route = to;
      }
    }
    return moves;
  }

  /** Work each available route needs over the next tick; null when no route is up. */
  private needs(): Map<string, number> | null {
    let weights = 0;
    let done = 0;
    for (const route of this.routes.values()) {
      if (!route.up) continue;
      weights += route.weight;
      done += route.done;
    }
    const up = Array.from(this.routes.entries()).filter(([, route]) => route.up);
    if (up.length === 0) return null;
    const coming = this.totalRate() * this.tickMs;
    const needs = new Map<string, number>();
    for (const [id, route] of up) {
      // Only zero weights up: they share evenly rather than leave the miners nowhere.
      const part = weights > 0 ? route.weight / weights : 1 / up.length;
      needs.set(id, part * (done + coming) - route.done);
    }
    return needs;
  }

  /** Miners on a route that is down or gone go where the need is largest. */
  private placeStranded(): RouteMove[] {
    const needs = this.needs();
    if (!needs) return [];
    const average = this.averageRate();
    const moves: RouteMove[] = [];
    for (const [id, miner] of this.miners) {
      if (miner.route !== null && needs.has(miner.route)) continue;
      const to = best(needs, null);
      needs.set(to, needs.get(to)! - (miner.rate || average) * this.tickMs);
      moves.push({ miner: id, from: miner.route, to });
      miner.route = to;
    }
    return moves;
  }

  /** Every available route's work set to its weight's part of the total: no deficit, no surplus. */
  private forgiveDeficits(now: number): void {
    this.decay(now);
    let weights = 0;
    let done = 0;
    for (const route of this.routes.values()) {
      done += route.done;
      if (route.up) weights += route.weight;
    }
    for (const route of this.routes.values()) route.done = route.up && weights > 0 ? (done * route.weight) / weights : 0;
  }

  private decay(now: number): void {
    const elapsed = now - this.decayedAt;
    if (elapsed <= 0) return;
    this.decayedAt = now;
    const factor = Math.exp(-elapsed / this.options.periodMs);
    for (const route of this.routes.values()) route.done *= factor;
  }

  private totalRate(): number {
    const average = this.averageRate();
    let total = 0;
    for (const miner of this.miners.values()) total += miner.rate || average;
    return total;
  }

  /** Assumed for miners not measured yet (1 when none is: the split then counts them equal). */
  private averageRate(): number {
    let sum = 0;
    let measured = 0;
    for (const miner of this.miners.values()) {
      if (miner.rate > 0) {
        sum += miner.rate;
        measured++;
      }
    }
    return measured > 0 ? sum / measured : 1;
  }
}

/** The route with the largest need; ties go to `prefer`, then to the first listed. */
function best(needs: Map<string, number>, prefer: string | null): string {
  let chosen: string | null = null;
  let most = -Infinity;
  for (const [id, need] of needs) {
    if (need > most || (need === most && id === prefer)) {
      chosen = id;
      most = need;
    }
  }
  return chosen!;
}
