import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, Server } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { TestCa } from './support/certs.js';
import { Farm, TOKEN } from './support/farm.js';
import { sampleWith } from './support/metrics-text.js';
import { ProxyProcess } from './support/process.js';
import { SimMiner } from './support/sim-miner.js';
import { SimPool } from './support/sim-pool.js';
import { toolSkipReason } from './support/tools.js';
import { until } from './support/until.js';

const opensslMissing = toolSkipReason('openssl', 'version');
const READY = /stratum-proxy \S+: stratum (\S+), web (\S+), database (\w+), stratum TLS (\S+)/;

/** A TLS terminator in front of a simulated pool, as a pool's TLS port is. */
async function tlsFront(pool: SimPool, cert: { cert: string; key: string }): Promise<{ server: Server; port: number }> {
  const server = createTlsServer({ cert: cert.cert, key: cert.key }, (socket) => {
    const upstream = tcpConnect(pool.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('TLS to pools with a pinned certificate', () => {
  if (opensslMissing) return it.skip(`(skipped: ${opensslMissing})`, () => undefined);
  const farm = new Farm();
  const ca = opensslMissing ? null : new TestCa();
  const fronts: Server[] = [];

  beforeAll(() => farm.start(['--upstream.connectTimeout=2s']));
  afterAll(async () => {
    for (const front of fronts) front.close();
    await farm.stop();
    rmSync(ca!.dir, { recursive: true, force: true });
  });

  const addTlsPool = async (fingerprint: string) => {
    const pool = new SimPool();
    await pool.start();
    farm.pools.push(pool);
    const selfSigned = ca!.selfSigned('pool.example');
    const front = await tlsFront(pool, selfSigned);
    fronts.push(front.server);
    await farm.http
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port: front.port, algorithm: 'sha256', tls: true, tlsFingerprint: fingerprint || selfSigned.fingerprint })
      .expect(201);
    return { pool, port: front.port, fingerprint: selfSigned.fingerprint };
  };

  it('mines through a pool behind TLS whose self-signed certificate is pinned', async () => {
    const { pool, port, fingerprint } = await addTlsPool('');
    const pools = await farm.http.get('/api/v1/pools').expect(200);
    expect((pools.body as { port: number; tls: boolean; tlsFingerprint: string }[]).find((p) => p.port === port)).toMatchObject({
      tls: true,
      tlsFingerprint: fingerprint,
    });
    // The address may be given as a URL; it must agree with the pool's registration.
    const name = (
      await farm.http
        .post('/api/v1/users')
        .send({ pool: `stratum+ssl://127.0.0.1:${port}`, user: 'secure' })
        .expect(201)
    ).body.name as string;
    await farm.http
      .post('/api/v1/users')
      .send({ pool: `stratum+tcp://127.0.0.1:${port}`, user: 'plain' })
      .expect(400);
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    await miner.mine(3);
    expect(miner.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(3);
  });

  it('refuses a pool whose certificate is not the pinned one, and the miner hears why', async () => {
    const { port } = await addTlsPool('ab'.repeat(32));
    const name = (
      await farm.http
        .post('/api/v1/users')
        .send({ pool: `127.0.0.1:${port}`, user: 'pinned' })
        .expect(201)
    ).body.name as string;
    const miner = farm.miner({ login: name });
    const answer = await miner.start();
    expect(answer.error).toEqual([
      24,
      expect.stringMatching(/^pool unreachable: 127\.0\.0\.1:\d+ \(TLS certificate fingerprint [0-9a-f]{64} is not the pinned abab/),
      null,
    ]);
    const metrics = (await farm.http.get('/metrics').expect(200)).text;
    expect(
      sampleWith(metrics, 'proxy_upstream_connects_total', { pool: `127.0.0.1:${port}`, outcome: 'tls_failure' }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('TLS both ways, the pools verified against a private CA (NODE_EXTRA_CA_CERTS)', () => {
  if (opensslMissing) return it.skip(`(skipped: ${opensslMissing})`, () => undefined);
  const ca = opensslMissing ? null : new TestCa();
  let proxy: ProxyProcess;
  let web: string;
  let stratumTls: number;
  let listenerCert: string;
  let listenerKey: string;
  const pools: SimPool[] = [];
  const fronts: Server[] = [];
  const miners: SimMiner[] = [];

  beforeAll(async () => {
    const issued = ca!.issue('localhost', ['localhost', '127.0.0.1']);
    listenerCert = join(ca!.dir, 'listener.pem');
    listenerKey = join(ca!.dir, 'listener.key');
    copyFileSync(issued.certPath, listenerCert);
    copyFileSync(issued.keyPath, listenerKey);
    proxy = new ProxyProcess(
      [
        '--web.addr=127.0.0.1:0',
        '--stratum.addr=127.0.0.1:0',
        '--stratum.tls.addr=127.0.0.1:0',
        `--stratum.tls.cert=${listenerCert}`,
        `--stratum.tls.key=${listenerKey}`,
        '--stratum.tls.handshakeTimeout=1s',
        `--db.path=${join(ca!.dir, 'proxy.db')}`,
        '--api.token=t',
        '--upstream.connectTimeout=2s',
        '--syslog',
      ],
      { NODE_EXTRA_CA_CERTS: ca!.ca.certPath },
    );
    const [, , webAddress, , tlsAddress] = await proxy.waitFor(READY);
    web = webAddress;
    stratumTls = Number(tlsAddress.split(':').pop());
  });

  afterAll(async () => {
    for (const miner of miners) await miner.close();
    proxy?.kill('SIGKILL');
    for (const front of fronts) front.close();
    for (const pool of pools) await pool.stop();
    rmSync(ca!.dir, { recursive: true, force: true });
  });

  const api = (path: string, body?: object) =>
    fetch(`http://${web}/api/v1${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { Authorization: 'Bearer t' },
      body: body && JSON.stringify(body),
    });
  /** A TLS pool on `localhost` whose certificate is for these names; returns a registered name on it. */
  const nameOnPool = async (certNames: string[], user: string) => {
    const pool = new SimPool();
    await pool.start();
    pools.push(pool);
    const front = await tlsFront(pool, ca!.issue(certNames[0], certNames));
    fronts.push(front.server);
    expect((await api('/pools', { host: 'localhost', port: front.port, algorithm: 'sha256', tls: true })).status).toBe(201);
    const registered = (await (await api('/users', { pool: `localhost:${front.port}`, user })).json()) as { name: string };
    return { pool, name: registered.name };
  };
  const tlsMiner = (login: string) => {
    const miner = new SimMiner(stratumTls, { login, tls: { ca: ca!.ca.cert } });
    miners.push(miner);
    return miner;
  };

  it('mines from a miner over the TLS listener to a pool behind TLS, verified by CA and host name', async () => {
    const { pool, name } = await nameOnPool(['localhost'], 'verified');
    const miner = tlsMiner(`${name}.secure`);
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    await miner.mine(3);
    expect(miner.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(3);
    const workers = (await (await api('/workers')).json()) as { rig: string; tls: boolean }[];
    expect(workers.find((worker) => worker.rig === 'secure')?.tls).toBe(true);
  });

  it('refuses a pool whose certificate is for another host, naming the reason to the miner', async () => {
    const { name } = await nameOnPool(['other.example'], 'wronghost');
    const answer = await tlsMiner(name).start();
    expect(answer.error).toEqual([
      24,
      expect.stringMatching(/^pool unreachable: localhost:\d+ \(TLS ERR_TLS_CERT_ALTNAME_INVALID: /),
      null,
    ]);
  });

  it('reloads the listener certificate with a miner connected, which keeps mining; a bad file keeps the old one', async () => {
    const { name } = await nameOnPool(['localhost'], 'reload');
    const miner = tlsMiner(`${name}.stays`);
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    const peerFingerprint = async () => {
      const socket = tlsConnect({ host: '127.0.0.1', port: stratumTls, ca: ca!.ca.cert, servername: 'localhost' });
      await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      const fingerprint = (socket as TLSSocket).getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase();
      socket.destroy();
      return fingerprint;
    };
    const before = await peerFingerprint();
    const renewed = ca!.issue('localhost', ['localhost', '127.0.0.1']);
    writeFileSync(listenerKey, renewed.key);
    writeFileSync(listenerCert, renewed.cert);
    proxy.kill('SIGHUP');
    await until(async () => (await peerFingerprint()) === renewed.fingerprint, 'the renewed certificate', 5000);
    expect(before).not.toBe(renewed.fingerprint);
    await miner.mine(2);
    expect(miner.rejected).toEqual([]);
    expect(miner.isClosed).toBe(false);
    // A broken file: logged, and the certificate in use stays.
    writeFileSync(listenerCert, 'not a certificate');
    proxy.kill('SIGHUP');
    await proxy.waitFor(/TLS certificate reload failed, keeping the old one/);
    expect(await peerFingerprint()).toBe(renewed.fingerprint);
  });

  it('closes a client that opens a TLS connection and never finishes the handshake', async () => {
    const socket = tcpConnect(stratumTls, '127.0.0.1');
    const opened = Date.now();
    await new Promise((resolve) => socket.once('connect', resolve));
    await new Promise((resolve) => socket.once('close', resolve));
    const waited = Date.now() - opened;
    expect(waited).toBeGreaterThan(800);
    expect(waited).toBeLessThan(3000);
    const metrics = await (await fetch(`http://${web}/metrics`)).text();
    expect(sampleWith(metrics, 'proxy_protocol_errors_total', { side: 'miner', kind: 'tls_handshake' })).toBeGreaterThanOrEqual(1);
  });
});
