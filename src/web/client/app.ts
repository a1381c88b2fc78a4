// The farm page, in the browser: reads the JSON API every few seconds and draws it. Compiled by the
// project's build; uPlot comes as a global from /ui/uPlot.iife.min.js (served by the proxy, no CDN).

interface UPlotInstance {
  setData(data: number[][]): void;
  setSize(size: { width: number; height: number }): void;
}
declare const uPlot: new (options: unknown, data: number[][], target: HTMLElement) => UPlotInstance;

interface Account {
  index: number;
  pool: string;
  user: string;
}
interface Farm {
  hashrate: number;
  workers: number;
  /** A user's page has no reasons: the API counts them for the farm only. */
  shares: { accepted: number; rejected: number; reasons?: Record<string, number> };
  /** `index`: on a user's page, the account's place in its failover order (0: the primary). */
  pools: { pool: string; algorithm: string; up: boolean; index?: number }[];
  users: { name: string; hashrate: number; workers: number; active: Account | null }[];
  /** On a user's page: the account its workers mine on. */
  active?: Account | null;
}
interface Worker {
  worker: string;
  user: string;
  rig: string | null;
  pool: string;
  algorithm: string;
  difficulty: number | null;
  hashrate: Record<string, number>;
  connectedSince: string;
  lastShare: string | null;
}
/**
 * A name's route (issue 23): its weight, its accounts in failover order, the one its miners mine on now (null:
 * none, the route is down) and its measured part of the name's hashrate over the routing period (share, 0..1).
 */
interface Route {
  weight: number;
  accounts: { pool: string; user: string }[];
  active: { pool: string; user: string } | null;
  share: number;
  hashrate: number;
}
/** GET /api/v1/users/:name (public). */
interface UserView {
  name: string;
  hashrate: number;
  active: Account | null;
  routes: Route[];
  shares: { accepted: number; rejected: number };
  pools: { pool: string; algorithm: string; index: number; up: boolean }[];
  workers: Omit<Worker, 'user'>[];
}
interface Series {
  /** The first minute with statistics (null: none yet): the chart's default range covers it. */
  dataSince: string | null;
  points: { time: string; hashrate: number }[];
}

const REFRESH_MS = 5000;
const PAGE_SIZE = 100;
/** Smallest first: the chart opens on the first that covers the statistics' age. */
const RANGES: Record<string, { spanMs: number; step: string }> = {
  '1h': { spanMs: 3_600_000, step: '1m' },
  '24h': { spanMs: 86_400_000, step: '15m' },
  '7d': { spanMs: 7 * 86_400_000, step: '1h' },
};

export function rangeFor(dataSince: string | null, now = Date.now()): string {
  const age = dataSince === null ? 0 : now - Date.parse(dataSince);
  const ranges = Object.entries(RANGES);
  return (ranges.find(([, range]) => age <= range.spanMs) ?? ranges.at(-1)!)[0];
}

/** "1 worker", "2 workers". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** The token: from the URL fragment (#token=..., then removed from the address bar) or this tab's storage. */
function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('token');
  if (given) {
    sessionStorage.setItem('token', given);
    fragment.delete('token');
    history.replaceState(null, '', location.pathname + location.search + (fragment.toString() ? `#${fragment}` : ''));
  }
  return sessionStorage.getItem('token');
}

/** A user's own page, public: /#user=<name> (or ?user=). */
function publicUser(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get('user') ?? new URLSearchParams(location.search).get('user');
}

/** 401: no token, or a wrong one. */
class Unauthorized extends Error {}
/** 403: the proxy runs without a management token; the message is the server's, shown as it is. */
class ManagementDisabled extends Error {}

/** The server's own words from an error answer ({"statusCode", "message"} or {"statusCode", "error"}). */
async function serverMessage(response: Response): Promise<string> {
  const body = await response.text();
  try {
    const json = JSON.parse(body) as { message?: unknown; error?: unknown };
    const message = typeof json.message === 'string' ? json.message : json.error;
    if (typeof message === 'string' && message) return message;
  } catch {
    // not JSON: the text itself
  }
  return body || `${response.status} ${response.statusText}`;
}

async function api<T>(path: string, token: string | null): Promise<T> {
  const response = await fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (response.status === 401) throw new Unauthorized(await serverMessage(response));
  if (response.status === 403) throw new ManagementDisabled(await serverMessage(response));
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await serverMessage(response)}`);
  return (await response.json()) as T;
}

export function formatHashrate(value: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit++;
  }
  return `${scaled.toFixed(scaled >= 100 ? 0 : scaled >= 10 ? 1 : 2)} ${units[unit]}`;
}

/** A fraction as a percent, to a tenth: 0.8 is "80 %", 0.7964 is "79.6 %". */
export function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))} %`;
}

function ago(iso: string | null): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

function text(id: string, value: string, raw?: number): void {
  const element = $(id);
  element.textContent = value;
  if (raw !== undefined) element.dataset.value = String(raw);
}

/** The hashrate chart: one line, redrawn with the range's series. */
class Chart {
  private plot: UPlotInstance | null = null;
  /** Null until a range is chosen: then the first that covers the statistics' age. */
  range: string | null = null;

  constructor(private readonly target: HTMLElement) {
    addEventListener('resize', () => this.plot?.setSize(this.size()));
  }

  private size() {
    return { width: Math.max(200, this.target.clientWidth), height: 220 };
  }

  /** Fits the chart to its box (drawn while hidden, it had none). */
  resize(): void {
    this.plot?.setSize(this.size());
  }

  /** Shows which range is drawn (the buttons and the chart's data-range). */
  choose(range: string): void {
    this.range = range;
    this.target.dataset.range = range;
    for (const button of document.querySelectorAll<HTMLElement>('#ranges button'))
      button.classList.toggle('active', button.dataset.range === range);
  }

  draw(series: Series): void {
    const data = [series.points.map((point) => Date.parse(point.time) / 1000), series.points.map((point) => point.hashrate)];
    // The newest point (the step in progress), for whoever reads the page: the tests compare it with the miners.
    const last = series.points.at(-1);
    this.target.dataset.lastTime = last?.time ?? '';
    this.target.dataset.lastHashrate = String(last?.hashrate ?? 0);
    this.target.dataset.drawnAt = String(Date.now());
    if (this.plot) return this.plot.setData(data);
    const options = {
      ...this.size(),
      series: [
        {},
        {
          label: 'Hashrate',
          stroke: '#2e6be6',
          fill: 'rgba(46,107,230,0.12)',
          value: (_: unknown, v: number | null) => (v === null ? '-' : formatHashrate(v)),
        },
      ],
      axes: [{}, { values: (_: unknown, ticks: number[]) => ticks.map(formatHashrate), size: 80 }],
    };
    this.plot = new uPlot(options, data, this.target);
  }
}

/** The workers table: sorted by a column, filtered by user or rig, a page at a time (fine with 10,000 rows). */
class WorkersTable {
  rows: Worker[] = [];
  private sortKey = 'rig';
  private descending = false;
  private page = 0;

  constructor() {
    for (const header of document.querySelectorAll<HTMLElement>('#workers-table th')) {
      header.addEventListener('click', () => {
        const key = header.dataset.key!;
        this.descending = this.sortKey === key ? !this.descending : false;
        this.sortKey = key;
        this.render();
      });
    }
    $('filter').addEventListener('input', () => {
      this.page = 0;
      this.render();
    });
    $('prev').addEventListener('click', () => {
      this.page = Math.max(0, this.page - 1);
      this.render();
    });
    $('next').addEventListener('click', () => {
      this.page++;
      this.render();
    });
  }

  private value(worker: Worker, key: string): string | number {
    switch (key) {
      case 'h10m':
        return worker.hashrate['10m'] ?? 0;
      case 'h1h':
        return worker.hashrate['1h'] ?? 0;
      case 'difficulty':
        return worker.difficulty ?? 0;
      case 'status':
        return 'connected';
      case 'lastShare':
        return worker.lastShare ?? '';
      case 'rig':
        return worker.rig ?? '';
      case 'user':
        return worker.user;
      case 'pool':
        return worker.pool;
      case 'algorithm':
        return worker.algorithm;
      default:
        return worker.connectedSince;
    }
  }

  render(): void {
    const filter = ($<HTMLInputElement>('filter').value || '').trim().toLowerCase();
    const shown = this.rows.filter(
      (worker) => !filter || worker.user.toLowerCase().includes(filter) || (worker.rig ?? '').toLowerCase().includes(filter),
    );
    shown.sort((a, b) => {
      const [x, y] = [this.value(a, this.sortKey), this.value(b, this.sortKey)];
      const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return this.descending ? -order : order;
    });
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    this.page = Math.min(this.page, pages - 1);
    const body = document.querySelector('#workers-table tbody')!;
    body.replaceChildren(
      ...shown.slice(this.page * PAGE_SIZE, (this.page + 1) * PAGE_SIZE).map((worker) => {
        const row = document.createElement('tr');
        row.dataset.worker = worker.worker;
        const cells = [
          worker.rig ?? '-',
          worker.user,
          worker.pool,
          worker.algorithm,
          worker.difficulty === null ? '-' : String(Number(worker.difficulty.toPrecision(4))),
          formatHashrate(worker.hashrate['10m'] ?? 0),
          formatHashrate(worker.hashrate['1h'] ?? 0),
          ago(worker.lastShare),
          new Date(worker.connectedSince).toLocaleString(),
          'connected',
        ];
        row.replaceChildren(...cells.map((value) => Object.assign(document.createElement('td'), { textContent: value })));
        // The exact instants, on hover (and for the tests).
        row.cells[7].title = worker.lastShare ?? '';
        row.cells[8].title = worker.connectedSince;
        return row;
      }),
    );
    for (const header of document.querySelectorAll<HTMLElement>('#workers-table th')) {
      header.classList.toggle('sorted', header.dataset.key === this.sortKey);
      header.dataset.dir = this.descending ? '▼' : '▲';
    }
    text('page', `${plural(shown.length, 'worker')}, page ${this.page + 1} of ${pages}`);
  }
}

/** Each registered name with its hashrate, workers and the account it mines on; a link to its own page. */
function renderUsers(farm: Farm): void {
  $('users-section').classList.toggle('hidden', farm.users.length === 0);
  $('users').replaceChildren(
    ...farm.users.map((user) => {
      const item = document.createElement('li');
      const link = Object.assign(document.createElement('a'), { href: `/#user=${encodeURIComponent(user.name)}`, textContent: user.name });
      const on = user.active ? ` on ${user.active.pool}${user.active.index > 0 ? ` (backup ${user.active.index})` : ''}` : '';
      item.append(link, ` ${formatHashrate(user.hashrate)}, ${plural(user.workers, 'worker')}${on}`);
      return item;
    }),
  );
}

/**
 * A user's routes, when it has more than one: each one's weight (a percent of all the weights), the account its
 * miners mine on ("down": none) and its measured part of the name's hashrate. One route: nothing to split, no section.
 */
function renderRoutes(routes: Route[]): void {
  const shown = routes.length > 1;
  $('routes-section').classList.toggle('hidden', !shown);
  const total = routes.reduce((sum, route) => sum + route.weight, 0);
  $('routes-table')
    .querySelector('tbody')!
    .replaceChildren(
      ...(shown ? routes : []).map((route, i) => {
        const row = document.createElement('tr');
        row.dataset.route = String(i);
        row.dataset.share = String(route.share);
        row.dataset.hashrate = String(route.hashrate);
        const cell = (value: string, className = '') => Object.assign(document.createElement('td'), { textContent: value, className });
        const weight = cell(formatPercent(total > 0 ? route.weight / total : 0));
        weight.title = `weight ${route.weight} of ${total}`;
        row.append(
          cell(String(i + 1)),
          weight,
          route.active ? cell(route.active.pool) : cell('down', 'down'),
          cell(route.active ? route.active.user : '-'),
          cell(formatPercent(route.share)),
          cell(formatHashrate(route.hashrate)),
        );
        return row;
      }),
    );
}

function renderFarm(farm: Farm): void {
  renderUsers(farm);
  text('hashrate', formatHashrate(farm.hashrate), farm.hashrate);
  text('workers', String(farm.workers), farm.workers);
  text('accepted', String(farm.shares.accepted));
  text('rejected', String(farm.shares.rejected));
  text(
    'reasons',
    Object.entries(farm.shares.reasons ?? {})
      .map(([reason, count]) => `${reason} ${count}`)
      .join(', '),
  );
  $('pools').replaceChildren(
    ...farm.pools.map((pool) => {
      const item = document.createElement('li');
      item.dataset.pool = pool.pool;
      const state = Object.assign(document.createElement('span'), {
        className: pool.up ? 'up' : 'down',
        textContent: pool.up ? 'up' : 'down',
      });
      item.append(`${pool.pool} (${pool.algorithm}) `, state);
      if (pool.index !== undefined) {
        // A user's own accounts: which one is the primary, which backup, which one its workers mine on.
        item.append(pool.index === 0 ? ' primary' : ` backup ${pool.index}`);
        if (farm.active?.index === pool.index) item.append(', mining');
      }
      const active = farm.users.filter((user) => user.active && user.active.pool === pool.pool && user.active.index > 0);
      if (active.length > 0) item.append(` backup for ${active.map((user) => user.name).join(', ')}`);
      return item;
    }),
  );
}

/** The management API is off: the server's reason as it gave it, and the ways to turn it on. */
function showDisabled(message: string): void {
  $('login').classList.add('hidden');
  $('view').classList.add('hidden');
  $('disabled').classList.remove('hidden');
  text('disabled-message', message);
  text('page-address', location.origin + '/');
}

async function main(): Promise<void> {
  // A link to a user's page (or back) changes only the fragment: start over with it.
  addEventListener('hashchange', () => location.reload());
  const user = publicUser();
  let token = takeToken();
  const chart = new Chart($('chart'));
  const table = new WorkersTable();
  const showLogin = (message = '') => {
    $('login').classList.remove('hidden');
    $('view').classList.add('hidden');
    $('disabled').classList.add('hidden');
    text('login-error', message);
  };
  $('user-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $<HTMLInputElement>('user-name').value.trim();
    if (name) location.hash = `user=${encodeURIComponent(name)}`;
  });
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $<HTMLInputElement>('token').value.trim();
    sessionStorage.setItem('token', token);
    $('login').classList.add('hidden');
    void refresh(true);
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('#ranges button')) {
    button.addEventListener('click', () => {
      chart.choose(button.dataset.range!);
      void refresh(true);
    });
  }
  /** The range's series; with no range chosen yet, the first that covers the statistics' age. */
  const series = async (path: string, auth: string | null): Promise<Series> => {
    const get = (range: string) => {
      const from = new Date(Date.now() - RANGES[range].spanMs).toISOString();
      return api<Series>(`${path}?from=${from}&step=${RANGES[range].step}`, auth);
    };
    if (chart.range) return get(chart.range);
    const first = await get('1h');
    const fits = rangeFor(first.dataSince);
    chart.choose(fits);
    return fits === '1h' ? first : get(fits);
  };
  let lastChart = 0;
  const refresh = async (chartToo = false) => {
    try {
      const chartDue = chartToo || Date.now() - lastChart > 60_000;
      if (user) {
        // A user's own page: public, no token; every number from GET /api/v1/users/:name.
        const path = `/users/${encodeURIComponent(user)}`;
        const view = await api<UserView>(path, null);
        text('title', `User ${view.name}`);
        renderFarm({
          hashrate: view.hashrate,
          workers: view.workers.length,
          shares: view.shares,
          pools: view.pools,
          users: [],
          active: view.active,
        });
        renderRoutes(view.routes ?? []);
        table.rows = view.workers.map((worker) => ({ ...worker, user: view.name }));
        if (chartDue) {
          chart.draw(await series(`${path}/stats`, null));
          lastChart = Date.now();
        }
      } else {
        // Asked even without a token: the answer says whether one is needed (401) or management is off (403).
        const farm = await api<Farm>('/farm', token);
        renderFarm(farm);
        table.rows = await api<Worker[]>('/workers', token);
        if (chartDue) {
          chart.draw(await series('/farm/stats', token));
          lastChart = Date.now();
        }
      }
      const wasHidden = $('view').classList.contains('hidden');
      $('disabled').classList.add('hidden');
      $('view').classList.remove('hidden');
      if (wasHidden) chart.resize();
      table.render();
      text('updated', `updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      if (error instanceof Unauthorized) {
        const refused = token !== null;
        sessionStorage.removeItem('token');
        token = null;
        return showLogin(refused ? 'That token was refused.' : '');
      }
      if (error instanceof ManagementDisabled) return showDisabled(error.message);
      text('updated', `update failed: ${(error as Error).message}`);
    }
  };
  await refresh(true);
  // Not while the token is asked for: that waits for the person (and keeps saying why it is asked).
  setInterval(() => {
    if ($('login').classList.contains('hidden')) void refresh();
  }, REFRESH_MS);
}

void main();
