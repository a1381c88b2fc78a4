import type { Counter, Gauge } from 'prom-client';
import type { AccountingService } from '../../accounting/accounting.service.js';
import type { AppConfig } from '../../config/app-config.js';
import type { Pool } from '../../pools/pool.entity.js';
import type { User } from '../../users/user.entity.js';
import type { UserRoute } from '../../users/user-route.entity.js';
import type { Channel } from '../channel.js';
import { RoutingService } from './routing.service.js';

const pool = (id: number) => ({ id, address: `pool${id}:3333` }) as unknown as Pool;

function user(name: string, routes: { weight: number; pool: Pool; user: string }[]): User {
  const [first, ...rest] = routes;
  return {
    name,
    pool: first.pool,
    accountUser: first.user,
    accountPassword: 'x',
    routeWeight: rest.length > 0 ? first.weight : null,
    backups: [],
    routes: rest.map(
      (route, i) =>
        ({
          userName: name,
          route: i + 1,
          position: 0,
          weight: route.weight,
          pool: route.pool,
          accountUser: route.user,
          accountPassword: 'x',
        }) as UserRoute,
    ),
  } as unknown as User;
}

const channel = (address: string, account: string) =>
  ({ poolAddress: address, account: { user: account }, closed: false }) as unknown as Channel;

function setup() {
  const moved: string[] = [];
  const watched: { name: string; up: () => void; stopped: boolean }[] = [];
  const inc = vi.fn();
  const gauge = { set: vi.fn(), reset: vi.fn() } as unknown as Gauge;
  const accounting = { workerHashrate: () => 2 ** 32 * 1000, userHashrate: () => 0 } as unknown as AccountingService;
  const config = { routing: { periodMs: 1000 }, metricsTag: 'test' } as unknown as AppConfig;
  const routing = new RoutingService(config, accounting, gauge, gauge, { inc } as unknown as Counter);
  routing.setMechanics({
    move: (sessionId) => moved.push(sessionId),
    watch: (name, _accounts, up) => {
      const watch = { name, up, stopped: false };
      watched.push(watch);
      return () => (watch.stopped = true);
    },
  });
  return { routing, moved, watched, inc };
}

describe('RoutingService', () => {
  it('tracks nothing for a name with one route: route 0, its accounts, no credit path', () => {
    const { routing } = setup();
    const plain = user('plain', [{ weight: 100, pool: pool(1), user: 'a' }]);
    const placed = routing.place('s1', plain);
    expect(placed.index).toBe(0);
    expect(placed.accounts.map((account) => account.accountUser)).toEqual(['a']);
    expect(routing.active).toBe(false);
  });

  it('places the sessions of a name with routes, moves them at ticks and counts each batch once', () => {
    const { routing, moved, inc } = setup();
    const routed = user('split', [
      { weight: 80, pool: pool(1), user: 'farm' },
      { weight: 20, pool: pool(2), user: 'fee' },
    ]);
    const routes = Array.from({ length: 10 }, (_, i) => routing.place(`s${i}`, routed).index);
    expect(routing.active).toBe(true);
    expect(new Set(routes).size).toBeGreaterThan(0);
    // Work credited all to route 0: the next tick moves miners to route 1.
    for (let i = 0; i < 10; i++) routing.credit(`s${i}`, routes[i] === 0 ? 1000 : 0);
    routing.tick(Date.now() + 100);
    expect(moved.length).toBeGreaterThan(0);
    expect(inc).toHaveBeenCalledWith({ proxy: 'test', user: 'split', reason: 'weights' }, moved.length);
    routing.leave('s0');
    for (let i = 1; i < 10; i++) routing.leave(`s${i}`);
    expect(routing.active).toBe(false);
  });

  it('moves a down route away at once, watches it, and gives it miners back when it works', async () => {
    const { routing, moved, watched, inc } = setup();
    const routed = user('split', [
      { weight: 50, pool: pool(1), user: 'one' },
      { weight: 50, pool: pool(2), user: 'two' },
    ]);
    const channels = [channel('pool1:3333', 'one'), channel('pool2:3333', 'two')];
    const ids = ['a', 'b', 'c', 'd'];
    for (const id of ids) routing.place(id, routed);
    // New miners start where the need is largest (a tie: the first route); a tick spreads them.
    routing.credit('a', 1000);
    routing.tick(Date.now() + 100);
    moved.length = 0;
    const placed = ids.map((id) => {
      const { index } = routing.place(id, routed);
      routing.seated(id, channels[index]);
      return { id, index };
    });
    inc.mockClear();
    const onTwo = placed.filter((session) => session.index === 1);
    expect(onTwo.length).toBeGreaterThan(0);
    routing.channelState(onTwo[0].id, channels[1], false);
    // Every session of route 1 moved in one batch, and a watcher holds the route.
    expect(moved.sort()).toEqual(onTwo.map((session) => session.id).sort());
    expect(inc).toHaveBeenCalledWith({ proxy: 'test', user: 'split', reason: 'route_down' }, onTwo.length);
    expect(watched).toHaveLength(1);
    for (const session of onTwo) expect(routing.place(session.id, routed).index).toBe(0);
    // A second report of the same outage does nothing more.
    routing.channelState(onTwo[0].id, channels[1], false);
    expect(watched).toHaveLength(1);

    moved.length = 0;
    watched[0].up();
    expect(watched[0].stopped).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(moved.length).toBeGreaterThan(0);
    expect(routing.view(routed).map((route) => route.weight)).toEqual([50, 50]);
  });
});
