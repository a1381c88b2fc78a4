// The floor under any proxy in Node.js on this machine: a relay that pipes each miner's bytes to the pool and
// back without reading them (a pool connection per miner, no parsing, no checks, no accounting). It answers
// the few API calls and flags the bench needs, so that it runs as a --baseline:
//   mkdir -p /tmp/null-relay/dist /tmp/null-relay/node_modules && cp bench/null-relay.mjs /tmp/null-relay/dist/main.js
//   npm run bench -- --baseline /tmp/null-relay
// What it costs per share is what Node's sockets, streams and event loop cost for the share's four socket
// operations (read the miner's line, write it to the pool, read the answer, write it to the miner).
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';

const argv = process.argv.slice(2);
if (argv.includes('--help')) {
  console.log('null relay for the bench: --stratum.addr=HOST:PORT --web.addr=HOST:PORT --db.path=IGNORED --api.token=IGNORED');
  process.exit(0);
}
const flag = (name) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const address = (text) => {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
};
const stratum = address(flag('stratum.addr') ?? '127.0.0.1:3333');
const web = address(flag('web.addr') ?? '127.0.0.1:8080');
let pool = null;

const relay = createServer({ noDelay: true }, (miner) => {
  if (!pool) return miner.destroy();
  const upstream = connect({ ...pool, noDelay: true });
  miner.pipe(upstream).pipe(miner);
  const close = () => {
    miner.destroy();
    upstream.destroy();
  };
  miner.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});
relay.maxConnections = 30_000;
relay.listen(stratum.port, stratum.host);

const api = createHttpServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    const json = (status, value) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const path = request.url.split('?')[0];
    if (request.method === 'GET' && path === '/api/v1/algorithms') return json(200, []);
    if (request.method === 'POST' && path === '/api/v1/pools') {
      const { host, port } = JSON.parse(body);
      pool = { host, port };
      return json(201, { host, port });
    }
    if (request.method === 'POST' && path === '/api/v1/users') return json(201, { name: JSON.parse(body).user });
    if (request.method === 'GET' && path === '/metrics') {
      response.writeHead(200, { 'Content-Type': 'text/plain' });
      return response.end('# the null relay keeps no metrics\n');
    }
    json(404, { error: `no route ${request.method} ${path}` });
  });
});
api.listen(web.port, web.host);

for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    relay.close();
    api.close();
    process.exit(0);
  });
