import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccountingService } from '../src/accounting/accounting.service.js';
import { Farm } from './support/farm.js';
import { toolSkipReason } from './support/tools.js';
import { until } from './support/until.js';

const PROMETHEUS_DIR = fileURLToPath(new URL('../docker/prometheus/', import.meta.url));
const GRAFANA_DIR = fileURLToPath(new URL('../docker/grafana/dashboards/', import.meta.url));
const promtoolMissing = toolSkipReason('promtool');

/** Every `expr` of the shipped alert rules (a YAML block scalar or a one-line value). */
function alertExpressions(): { alert: string; expr: string }[] {
  const lines = readFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), 'utf8').split('\n');
  const found: { alert: string; expr: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const alert = /^\s*- alert: (\S+)/.exec(lines[i]);
    if (!alert) continue;
    const exprLine = lines.slice(i).findIndex((line) => /^\s*expr:/.test(line)) + i;
    const inline = /^\s*expr:\s*(.+)$/.exec(lines[exprLine])![1];
    if (inline !== '|') {
      found.push({ alert: alert[1], expr: inline });
      continue;
    }
    const body: string[] = [];
    for (let j = exprLine + 1; j < lines.length && /^\s{10,}\S/.test(lines[j]); j++) body.push(lines[j].trim());
    found.push({ alert: alert[1], expr: body.join(' ') });
  }
  return found;
}

describe('monitoring that ships: Prometheus rules and configuration', () => {
  if (promtoolMissing) return it.skip(`(skipped: ${promtoolMissing})`, () => undefined);

  it('passes promtool: the configuration, the rules, and a unit test for every rule', () => {
    const run = (...args: string[]) => spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
    for (const args of [
      ['check', 'config', 'prometheus.yml'],
      ['check', 'rules', 'alerts.yml'],
      ['test', 'rules', 'alerts.test.yml'],
    ]) {
      const result = run(...args);
      expect(result.status, `promtool ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(0);
    }
    // Every alert has a test of its own.
    const tested = readFileSync(join(PROMETHEUS_DIR, 'alerts.test.yml'), 'utf8');
    for (const { alert } of alertExpressions()) expect(tested, alert).toContain(`alertname: ${alert}`);
  });
});

describe('a real Prometheus scraping the proxy while miners hash', () => {
  if (promtoolMissing) return it.skip(`(skipped: ${promtoolMissing})`, () => undefined);
  const farm = new Farm();
  let prometheus: ChildProcess | null = null;
  let dir: string;

  beforeAll(() => farm.start(['--metrics.tag=farm-proxy']));
  afterAll(async () => {
    prometheus?.kill('SIGKILL');
    await farm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes the proxy, and every alert expression evaluates without error against its real series', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'watched');
    const miners = [farm.miner({ login: `${name}.rig1` }), farm.miner({ login: `${name}.rig2` })];
    for (const miner of miners) {
      await miner.start();
      await miner.waitForJob();
      await miner.mine(3);
    }
    // A rig that leaves, for the panel of closed connections; one rejection, for rejections by reason.
    const brief = farm.miner({ login: `${name}.brief` });
    await brief.start();
    await brief.close();
    const low = miners[0].findLowShare();
    await miners[0].request('mining.submit', [miners[0].options.login, low.jobId, low.extranonce2, low.ntime, low.nonce]);
    farm.get(AccountingService).refreshSpeeds();

    dir = mkdtempSync(join(tmpdir(), 'stratum-proxy-prometheus-'));
    copyFileSync(join(PROMETHEUS_DIR, 'alerts.yml'), join(dir, 'alerts.yml'));
    // The shipped configuration, pointed at this proxy and scraping every second.
    const shipped = readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
    const config = shipped
      .replace("targets: ['proxy:8080']", `targets: ['${farm.proxy.webAddress}']`)
      .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
      .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s')
      .replace(/scrape_timeout: \S+/, 'scrape_timeout: 1s');
    expect(config).toContain(farm.proxy.webAddress);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    const port = 20000 + Math.floor(Math.random() * 20000);
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
    const api = async (path: string) =>
      (await fetch(`http://127.0.0.1:${port}${path}`)).json() as Promise<{ status: string; data: { result: unknown[] } }>;
    const query = (expr: string) => api(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    await until(
      async () => (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => null))?.status === 200,
      'Prometheus ready',
      20_000,
    );
    await until(async () => (await query('proxy_shares_total{proxy="farm-proxy"}')).data.result.length > 0, 'the proxy scraped', 20_000);

    // Data where data is expected: the series the rules and dashboards are built on.
    for (const expr of [
      'up{job="stratum-proxy"} == 1',
      `sum by (user) (proxy_user_speed{user="${name}"}) > 0`,
      `proxy_rig_speed{user="${name}", rig="rig1"} > 0`,
      `proxy_rig_connects_total{user="${name}", rig="rig1"} == 1`,
      `sum by (user, pool, result) (proxy_shares_total{user="${name}"}) > 0`,
      'proxy_pool_up == 1',
      'process_open_fds / process_max_fds',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      const result = await query(expr);
      expect(result.status, expr).toBe('success');
      expect(result.data.result.length, expr).toBeGreaterThan(0);
    }
    // Every dashboard panel's query, with its template variables set, is valid and has data, except
    // failovers (there were none).
    await until(
      async () => (await query('count_over_time(up{job="stratum-proxy"}[1m]) >= 3')).data.result.length > 0,
      'three scrapes',
      20_000,
    );
    const variables: Record<string, string> = {
      proxy: 'farm-proxy',
      user: name,
      pool: '.*',
      rig: 'rig1',
      __rate_interval: '1m',
      __range: '5m',
    };
    for (const file of ['farm.json', 'rig.json']) {
      const dashboard = JSON.parse(readFileSync(join(GRAFANA_DIR, file), 'utf8')) as {
        panels: { title: string; targets: { expr: string }[] }[];
      };
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const expr = target.expr.replace(/\$(\w+)/g, (_, variable: string) => variables[variable] ?? `$${variable}`);
          expect(expr, `${file} ${panel.title}`).not.toContain('$');
          const result = await query(expr);
          expect(result.status, `${file} ${panel.title}: ${expr}`).toBe('success');
          if (!/failover/i.test(panel.title)) expect(result.data.result.length, `${file} ${panel.title}: ${expr}`).toBeGreaterThan(0);
        }
      }
    }
    // Every alert expression is valid against the real series (none firing on a healthy farm).
    for (const { alert, expr } of alertExpressions()) {
      const result = await query(expr);
      expect(result.status, `${alert}: ${expr}`).toBe('success');
    }
    const rules = (await api('/api/v1/rules')) as unknown as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((group) => group.rules);
    expect(loaded.map((rule) => rule.name).sort()).toEqual(
      alertExpressions()
        .map((rule) => rule.alert)
        .sort(),
    );
    await until(
      async () =>
        ((await api('/api/v1/rules')) as unknown as typeof rules).data.groups.flatMap((g) => g.rules).every((rule) => rule.health === 'ok'),
      'every rule evaluated ok',
      10_000,
    );
  }, 60_000);
});
