import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Docker cannot run here: what the compose stack uses is checked where a test can reach it (the Prometheus
// rules and config and the dashboards' queries in prometheus.e2e-spec.ts, HAProxy's in haproxy.e2e-spec.ts);
// this checks the compose file's own references.
const DOCKER = fileURLToPath(new URL('../docker/', import.meta.url));

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

  it('health-checks with /readyz and gives the drain time to finish', () => {
    expect(readFileSync(join(DOCKER, 'Dockerfile'), 'utf8')).toMatch(/HEALTHCHECK[\s\S]*\/readyz/);
    expect(compose).toMatch(/stop_grace_period: 30s/);
    expect(compose).toMatch(/SHUTDOWN_DRAIN_TIMEOUT: 20s/);
  });
});
