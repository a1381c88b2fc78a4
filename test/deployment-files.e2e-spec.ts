import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseCommandLine } from '../src/config/app-config.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';

// Docker cannot run here: what the compose stack uses is checked where a test can reach it (the Prometheus
// rules and config and the dashboards' queries in prometheus.e2e-spec.ts, HAProxy's in haproxy.e2e-spec.ts);
// this checks the compose file's own references.
const DOCKER = fileURLToPath(new URL('../docker/', import.meta.url));

/** The `environment:` of one compose service, as written (values not interpolated). */
function serviceEnvironment(compose: string, service: string): Record<string, string> {
  const block = new RegExp(`^  ${service}:\\n[\\s\\S]*?^    environment:\\n((?:^      .*\\n)+)`, 'm').exec(compose);
  if (!block) throw new Error(`no environment for ${service}`);
  const entries = [...block[1].matchAll(/^      (\w+): (.*)$/gm)].map((match) => [match[1], match[2].replace(/^"(.*)"$/, '$1')]);
  return Object.fromEntries(entries);
}

/** Compose's interpolation of `${NAME}` and `${NAME:?message}` (which stops on an unset or empty NAME). */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::\?([^}]*))?\}/g, (_whole, name: string, message: string | undefined) => {
    const given = env[name] ?? '';
    if (message !== undefined && given === '') throw new Error(`required variable ${name} is missing a value: ${message}`);
    return given;
  });
}

/** docker/.env.example's variables and values. */
function exampleEnv(): Record<string, string> {
  const example = readFileSync(join(DOCKER, '.env.example'), 'utf8');
  return Object.fromEntries([...example.matchAll(/^(\w+)=(.*)$/gm)].map((match) => [match[1], match[2]]));
}

/** The proxy's configuration from the compose file and an .env file, as `docker compose up` would start it. */
function proxyStartedWith(compose: string, env: Record<string, string>) {
  const environment = Object.fromEntries(
    Object.entries(serviceEnvironment(compose, 'proxy')).map(([name, value]) => [name, interpolate(value, env)]),
  );
  const request = parseCommandLine([], environment);
  if (request.kind !== 'run') throw new Error('expected run');
  return request.config;
}

describe('the compose stack', () => {
  const compose = readFileSync(join(DOCKER, 'docker-compose.yml'), 'utf8');

  it('mounts only files that exist in the repository', () => {
    const mounts = [...compose.matchAll(/^\s+- \.\/(\S+?):/gm)].map((match) => match[1]);
    expect(mounts.sort()).toEqual(['grafana/dashboards', 'grafana/provisioning', 'prometheus']);
    for (const mount of mounts) expect(existsSync(join(DOCKER, mount)), mount).toBe(true);
    // The scrape target is the compose service's name and port.
    expect(readFileSync(join(DOCKER, 'prometheus/prometheus.yml'), 'utf8')).toContain("targets: ['proxy:8080']");
  });

  it('takes every secret from the .env file, documented in .env.example, and publishes the web port on 127.0.0.1 only', () => {
    const required = [...compose.matchAll(/\$\{(\w+):\?/g)].map((match) => match[1]);
    expect(new Set(required)).toEqual(new Set(['POSTGRES_PASSWORD', 'API_TOKEN', 'PROXY_SECRET_KEY', 'GRAFANA_ADMIN_PASSWORD']));
    const example = readFileSync(join(DOCKER, '.env.example'), 'utf8');
    for (const name of required) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(compose).not.toMatch(/PASSWORD: (?!\$)/);
    expect(compose).toContain('"127.0.0.1:8080:8080"');
    expect(compose).not.toMatch(/"8080:8080"/);
  });

  it('stops an unedited copy of .env.example: every secret blank, each with how to generate it', () => {
    const example = readFileSync(join(DOCKER, '.env.example'), 'utf8');
    const env = exampleEnv();
    expect(Object.keys(env).sort()).toEqual(['API_TOKEN', 'GRAFANA_ADMIN_PASSWORD', 'POSTGRES_PASSWORD', 'PROXY_SECRET_KEY']);
    for (const [name, value] of Object.entries(env)) {
      expect(value, name).toBe('');
      // The comment block right above the variable says how to make a value.
      const comments = new RegExp(`((?:^#.*\\n)+)^${name}=`, 'm').exec(example);
      expect(comments?.[1], name).toContain('openssl rand -hex 32');
    }
    expect(() => proxyStartedWith(compose, env)).toThrow(/required variable \w+ is missing a value: set \w+ in docker\/\.env/);
  });

  it('refuses the old placeholder values at the proxy, naming the variable', () => {
    const placeholders = Object.fromEntries(Object.keys(exampleEnv()).map((name) => [name, 'change-me']));
    expect(() => proxyStartedWith(compose, placeholders)).toThrow(/\(API_TOKEN\) is "change-me", a well-known placeholder/);
    const generated = { API_TOKEN: 'a1'.repeat(16), PROXY_SECRET_KEY: 'b2'.repeat(16), GRAFANA_ADMIN_PASSWORD: 'c3'.repeat(16) };
    expect(() => proxyStartedWith(compose, { ...generated, POSTGRES_PASSWORD: 'change-me' })).toThrow(
      /--db\.password \(DATABASE_PASSWORD\) is "change-me"/,
    );
  });

  it('keeps the PostgreSQL password out of DATABASE_URL, so that any password connects', () => {
    const proxy = serviceEnvironment(compose, 'proxy');
    expect(proxy.DATABASE_URL).toBe('postgres://proxy@postgres:5432/proxy');
    expect(proxy.DATABASE_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    // No variable is pasted into any URL of the file.
    expect(compose).not.toMatch(/:\/\/\S*\$\{/);
    const password = 'p@ss/w:rd#1 %41';
    const config = proxyStartedWith(compose, {
      POSTGRES_PASSWORD: password,
      API_TOKEN: 'a1'.repeat(16),
      PROXY_SECRET_KEY: 'b2'.repeat(16),
      GRAFANA_ADMIN_PASSWORD: 'c3'.repeat(16),
    });
    expect(config.database).toEqual({ type: 'postgres', url: 'postgres://proxy@postgres:5432/proxy', password });
    // What node-postgres will send: the exact password, to the compose service.
    const { url } = dataSourceOptions(config.database) as { url: string };
    const parameters = (new pg.Client({ connectionString: url }) as unknown as { connectionParameters: Record<string, unknown> })
      .connectionParameters;
    expect(parameters).toMatchObject({ user: 'proxy', password, host: 'postgres', port: 5432, database: 'proxy' });
  });

  it('health-checks with /readyz and gives the drain time to finish', () => {
    expect(readFileSync(join(DOCKER, 'Dockerfile'), 'utf8')).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
    expect(compose).toMatch(/stop_grace_period: 30s/);
    expect(compose).toMatch(/SHUTDOWN_DRAIN_TIMEOUT: 20s/);
  });
});
