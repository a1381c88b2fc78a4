// The farm page, in the browser: reads the JSON API every few seconds and draws it. Compiled by the
// project's build; uPlot comes as a global from /ui/uPlot.iife.min.js (served by the proxy, no CDN).

interface UPlotInstance {
  setData(data: number[][]): void;
  setSize(size: { width: number; height: number }): void;
}
declare const uPlot: new (options: unknown, data: number[][], target: HTMLElement) => UPlotInstance;

interface Farm {
  hashrate: number;
  workers: number;
  shares: { accepted: number; rejected: number; reasons: Record<string, number> };
  pools: { pool: string; algorithm: string; up: boolean; connections: number }[];
  users: { name: string; hashrate: number; workers: number; active: { index: number; pool: string; user: string } | null }[];
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
interface Series {
  points: { time: string; hashrate: number }[];
}

const REFRESH_MS = 5000;
const PAGE_SIZE = 100;
const RANGES: Record<string, { spanMs: number; step: string }> = {
  '1h': { spanMs: 3_600_000, step: '1m' },
  '24h': { spanMs: 86_400_000, step: '15m' },
  '7d': { spanMs: 7 * 86_400_000, step: '1h' },
};

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

class Unauthorized extends Error {}

async function api<T>(path: string, token: string | null): Promise<T> {
  const response = await fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (response.status === 401 || response.status === 403) throw new Unauthorized(await response.text());
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
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
  range = '24h';

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

  draw(series: Series): void {
    const data = [series.points.map((point) => Date.parse(point.time) / 1000), series.points.map((point) => point.hashrate)];
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
        return row;
      }),
    );
    for (const header of document.querySelectorAll<HTMLElement>('#workers-table th')) {
      header.classList.toggle('sorted', header.dataset.key === this.sortKey);
      header.dataset.dir = this.descending ? '▼' : '▲';
    }
    text('page', `${shown.length} workers, page ${this.page + 1} of ${pages}`);
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
      item.append(link, ` ${formatHashrate(user.hashrate)}, ${user.workers} workers${on}`);
      return item;
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
    Object.entries(farm.shares.reasons)
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
      const active = farm.users.filter((user) => user.active && user.active.pool === pool.pool && user.active.index > 0);
      if (active.length > 0) item.append(` backup for ${active.map((user) => user.name).join(', ')}`);
      return item;
    }),
  );
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
    text('login-error', message);
  };
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $<HTMLInputElement>('token').value.trim();
    sessionStorage.setItem('token', token);
    $('login').classList.add('hidden');
    void refresh(true);
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('#ranges button')) {
    button.addEventListener('click', () => {
      chart.range = button.dataset.range!;
      for (const other of document.querySelectorAll('#ranges button')) other.classList.toggle('active', other === button);
      void refresh(true);
    });
  }
  let lastChart = 0;
  const refresh = async (chartToo = false) => {
    try {
      const range = RANGES[chart.range];
      const from = new Date(Date.now() - range.spanMs).toISOString();
      if (user) {
        // A user's own page: public, no token.
        const view = await api<{ name: string; hashrate: number; workers: Worker[] }>(`/users/${encodeURIComponent(user)}`, null);
        text('title', `User ${view.name}`);
        renderFarm({
          hashrate: view.hashrate,
          workers: view.workers.length,
          shares: { accepted: 0, rejected: 0, reasons: {} },
          pools: [],
          users: [],
        });
        table.rows = view.workers.map((worker) => ({ ...worker, user: view.name, pool: '', algorithm: '', lastShare: null }));
        if (chartToo || Date.now() - lastChart > 60_000) {
          chart.draw(await api<Series>(`/users/${encodeURIComponent(user)}/stats?from=${from}&step=${range.step}`, null));
          lastChart = Date.now();
        }
      } else {
        if (!token) return showLogin();
        const farm = await api<Farm>('/farm', token);
        renderFarm(farm);
        table.rows = await api<Worker[]>('/workers', token);
        if (chartToo || Date.now() - lastChart > 60_000) {
          chart.draw(await api<Series>(`/farm/stats?from=${from}&step=${range.step}`, token));
          lastChart = Date.now();
        }
      }
      const wasHidden = $('view').classList.contains('hidden');
      $('view').classList.remove('hidden');
      if (wasHidden) chart.resize();
      table.render();
      text('updated', `updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      if (error instanceof Unauthorized) {
        sessionStorage.removeItem('token');
        token = null;
        return showLogin('That token was refused.');
      }
      text('updated', `update failed: ${(error as Error).message}`);
    }
  };
  await refresh(true);
  setInterval(() => void refresh(), REFRESH_MS);
}

void main();
