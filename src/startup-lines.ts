// What the proxy says once it is up: where miners connect, where the page is, where the data lives.
import { resolve } from 'node:path';
import { redactUrl, type RunningProxy } from './bootstrap.js';
import type { AppConfig } from './config/app-config.js';

/** An address a browser on this machine can open: a wildcard listener is reached on the loopback. */
function reachable(address: string): string {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = address.slice(colon + 1);
  if (host === '0.0.0.0' || host === '' || host === '::') return `127.0.0.1:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function startupLines(
  config: AppConfig,
  proxy: Pick<RunningProxy, 'stratumAddress' | 'stratumTlsAddress' | 'webAddress' | 'generatedToken'>,
  version: string,
): string[] {
  const tls = proxy.stratumTlsAddress ? `, TLS on stratum+ssl://${reachable(proxy.stratumTlsAddress)}` : '';
  // The first line keeps its old form: scripts and the CLI tests read the bound addresses from it.
  const lines = [
    `stratum-proxy ${version}: stratum ${proxy.stratumAddress}, web ${proxy.webAddress}, database ${config.database.type}` +
      (proxy.stratumTlsAddress ? `, stratum TLS ${proxy.stratumTlsAddress}` : ''),
    `miners connect to stratum+tcp://${reachable(proxy.stratumAddress)}${tls} with -u <name>`,
  ];
  const web = `http://${reachable(proxy.webAddress)}/`;
  const page = config.webUi ? `farm page ${web}` : `API ${web}api/v1 (farm page off: --web.ui=false)`;
  const generated = proxy.generatedToken;
  if (generated?.created) {
    // Shown in full once, like a notebook server's token address; later starts say where it is kept.
    lines.push(`${page}#token=${generated.token}`);
    lines.push(`management API on: a token was made for this proxy and kept in ${resolve(generated.path)} (owner only)`);
  } else if (generated) {
    lines.push(`${page} (open it with #token=<the token in ${resolve(generated.path)}>)`);
    lines.push(`management API on: token in ${resolve(generated.path)}`);
  } else {
    lines.push(page);
    lines.push(
      config.apiToken
        ? 'management API on: token from API_TOKEN (--api.token)'
        : 'management API off: set API_TOKEN=<secret> and restart to turn it on',
    );
  }
  lines.push(
    config.database.type === 'sqlite'
      ? `database: SQLite ${resolve(config.database.path)}`
      : `database: PostgreSQL ${redactUrl(config.database.url)}`,
  );
  return lines;
}
