import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { RunningProxy } from '../src/bootstrap.js';
import { startTestProxy } from './support/proxy.js';
import { describeEachStore, TestStore } from './support/stores.js';

const TOKEN = 'test-token-123';
const auth = { Authorization: `Bearer ${TOKEN}` };

describeEachStore('REST API', (factory) => {
  let store: TestStore;
  let proxy: RunningProxy;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    store = await factory.create();
    proxy = await startTestProxy([...store.flags, `--api.token=${TOKEN}`]);
    http = request(`http://${proxy.webAddress}`);
  });

  afterAll(async () => {
    await proxy?.close();
    await store?.dispose();
  });

  describe('POST /api/v1/users (registration)', () => {
    it('creates a 16-hex name with 201, then answers the same name with 200', async () => {
      const body = { pool: 'btc.f2pool.com:3333', user: 'farm.acc', password: 'pw' };
      const first = await http
        .post('/api/v1/users')
        .send(body)
        .expect(201)
        .expect('Content-Type', /application\/json/);
      expect(first.body).toEqual({ name: expect.stringMatching(/^[0-9a-f]{16}$/), error: '' });
      const again = await http.post('/api/v1/users').send(body).expect(200);
      expect(again.body).toEqual(first.body);
      // Host case does not matter; a different password is a different registration.
      const upper = await http
        .post('/api/v1/users')
        .send({ ...body, pool: 'BTC.F2POOL.COM:3333' })
        .expect(200);
      expect(upper.body.name).toBe(first.body.name);
      const other = await http
        .post('/api/v1/users')
        .send({ ...body, password: 'other' })
        .expect(201);
      expect(other.body.name).not.toBe(first.body.name);
    });

    it('accepts PUT like the original, an empty password, and a body without a JSON content type', async () => {
      const put = await http.put('/api/v1/users').send({ pool: 'stratum.antpool.com:3333', user: 'a', password: '' }).expect(201);
      expect(put.body.error).toBe('');
      const form = await http
        .post('/api/v1/users')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('{"pool":"stratum.antpool.com:3333","user":"a","password":""}')
        .expect(200);
      expect(form.body.name).toBe(put.body.name);
    });

    it('answers each malformed request with 400 and a clear error', async () => {
      const cases: [string | object, RegExp][] = [
        ['{"pool":', /malformed JSON/],
        [{ pool: 'btc.f2pool.com:3333' }, /user is required/],
        [{ pool: 'btc.f2pool.com:3333', user: '' }, /user must not be empty/],
        [{ pool: 'btc.f2pool.com', user: 'u' }, /pool must be "host:port"/],
        [{ pool: 'btc.f2pool.com:99999', user: 'u' }, /pool must be "host:port"/],
        [{ pool: 'btc.f2pool.com:3333', user: 'u'.repeat(257) }, /at most 256/],
        [{ pool: 'btc.f2pool.com:3333', user: 'u', password: 7 }, /password must be text \(a JSON string\)/],
        [{ pool: 'btc.f2pool.com:3333', user: ' \t ' }, /user must not be blank or contain control characters/],
        [`{"pool":${'['.repeat(5000)}${']'.repeat(5000)}}`, /JSON body nested deeper than 32 levels/],
      ];
      for (const [body, error] of cases) {
        const response = await http
          .post('/api/v1/users')
          .set('Content-Type', 'application/json')
          .send(typeof body === 'string' ? body : JSON.stringify(body));
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.name).toBe('');
        expect(response.body.error).toMatch(error);
      }
    });

    it('answers a compressed body that does not decompress with 400 and a clear error', async () => {
      const broken = gzipSync(JSON.stringify({ pool: 'btc.f2pool.com:3333', user: 'u' })).subarray(0, 12);
      const response = await http.post('/api/v1/users').set('Content-Encoding', 'gzip').send(broken).expect(400);
      expect(response.body).toEqual({ name: '', error: 'request body does not decompress (check Content-Encoding)' });
    });

    it('refuses a body over 16 KiB with 400', async () => {
      const response = await http.post('/api/v1/users').send({ pool: 'btc.f2pool.com:3333', user: 'u', padding: 'x'.repeat(17 * 1024) });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ name: '', error: 'request body is larger than 16 KiB' });
    });

    it('answers 404 for a pool that is not in the database', async () => {
      const response = await http.post('/api/v1/users').send({ pool: 'unknown.example.com:3333', user: 'u', password: 'p' }).expect(404);
      expect(response.body).toEqual({
        name: '',
        error:
          'pool unknown.example.com:3333 is not supported: the management API adds it (POST /api/v1/pools), or start the proxy with --pools.allowUnknown',
      });
    });
  });

  describe('management API', () => {
    it('refuses management calls without or with a wrong token (401)', async () => {
      for (const [method, path] of [
        ['get', '/api/v1/users'],
        ['delete', '/api/v1/users/0123456789abcdef'],
        ['post', '/api/v1/pools'],
        ['patch', '/api/v1/pools/1'],
        ['delete', '/api/v1/pools/1'],
        ['post', '/api/v1/algorithms'],
        ['patch', '/api/v1/algorithms/1'],
        ['delete', '/api/v1/algorithms/1'],
      ] as const) {
        const none = await http[method](path).send({});
        expect(none.status, `${method} ${path}`).toBe(401);
        expect(none.body.error).toMatch(/bearer token/);
        const wrong = await http[method](path).set('Authorization', 'Bearer nope').send({});
        expect(wrong.status, `${method} ${path} wrong token`).toBe(401);
      }
    });

    it('lists pools and algorithms publicly, with the seed data', async () => {
      const pools = await http.get('/api/v1/pools').expect(200);
      expect(pools.body).toHaveLength(65);
      expect(pools.body).toContainEqual(
        expect.objectContaining({ host: 'btc.f2pool.com', port: 3333, pool: 'btc.f2pool.com:3333', algorithm: 'sha256', divider: 1 }),
      );
      const algorithms = await http.get('/api/v1/algorithms').expect(200);
      expect(algorithms.body).toContainEqual(expect.objectContaining({ name: 'scrypt', divider: 65536 }));
      expect(algorithms.body).toContainEqual(expect.objectContaining({ name: 'sha256', divider: 1 }));
    });

    it('creates, updates and deletes algorithms and pools, with 409 for conflicts and things in use', async () => {
      const algorithm = await http.post('/api/v1/algorithms').set(auth).send({ name: 'TestHash', divider: 256 }).expect(201);
      expect(algorithm.body).toMatchObject({ name: 'testhash', divider: 256 });
      await http.post('/api/v1/algorithms').set(auth).send({ name: 'testhash', divider: 1 }).expect(409);
      await http.post('/api/v1/algorithms').set(auth).send({ name: 'bad', divider: 0 }).expect(400);
      await http
        .patch(`/api/v1/algorithms/${algorithm.body.id}`)
        .set(auth)
        .send({ divider: 128 })
        .expect(200, { id: algorithm.body.id, name: 'testhash', divider: 128 });

      const pool = await http
        .post('/api/v1/pools')
        .set(auth)
        .send({ host: 'Pool.Example.com', port: 3333, algorithm: 'TESTHASH' })
        .expect(201);
      expect(pool.body).toMatchObject({ host: 'pool.example.com', port: 3333, algorithm: 'testhash', divider: 128 });
      await http.post('/api/v1/pools').set(auth).send({ host: 'POOL.example.com', port: 3333, algorithm: 'sha256' }).expect(409);
      await http.post('/api/v1/pools').set(auth).send({ host: 'p.example.com', port: 70000, algorithm: 'sha256' }).expect(400);
      const unknown = await http.post('/api/v1/pools').set(auth).send({ host: 'p.example.com', port: 1, algorithm: 'sha256d' }).expect(400);
      // The answer lists every name a pool can be added with.
      expect(unknown.body.error).toMatch(/^algorithm sha256d does not exist; the known algorithms are: .*\bscrypt\b.*\bsha256\b/);
      expect(unknown.body.error).not.toMatch(/\bunknown\b/);
      const missing = await http.post('/api/v1/pools').set(auth).send({ port: 1, algorithm: 'sha256' }).expect(400);
      expect(missing.body.error).toBe('host is required');
      const fractional = await http
        .post('/api/v1/pools')
        .set(auth)
        .send({ host: 'p.example.com', port: 1.5, algorithm: 'sha256' })
        .expect(400);
      expect(fractional.body.error).toBe('port must be a whole number');
      await http.get(`/api/v1/pools/${pool.body.id}`).expect(200);

      // The algorithm is used by the pool, and the pool by a user: neither can go.
      await http.delete(`/api/v1/algorithms/${algorithm.body.id}`).set(auth).expect(409);
      const user = await http.post('/api/v1/users').send({ pool: 'pool.example.com:3333', user: 'x', password: 'y' }).expect(201);
      const inUse = await http.delete(`/api/v1/pools/${pool.body.id}`).set(auth).expect(409);
      expect(inUse.body.error).toMatch(/in use/);

      await http.patch(`/api/v1/pools/${pool.body.id}`).set(auth).send({ algorithm: 'sha256' }).expect(200);
      await http.delete(`/api/v1/algorithms/${algorithm.body.id}`).set(auth).expect(200);
      await http.delete(`/api/v1/users/${user.body.name.toUpperCase()}`).set(auth).expect(200);
      await http.delete(`/api/v1/users/${user.body.name}`).set(auth).expect(404);
      await http.delete(`/api/v1/pools/${pool.body.id}`).set(auth).expect(200);
      await http.get(`/api/v1/pools/${pool.body.id}`).expect(404);
      await http.get('/api/v1/pools/abc').expect(400);
    });

    it('lists users without their passwords', async () => {
      await http.post('/api/v1/users').send({ pool: 'btc.viabtc.com:3333', user: 'listed', password: 'very-secret-password' }).expect(201);
      const response = await http.get('/api/v1/users').set(auth).expect(200);
      expect(response.body).toContainEqual(expect.objectContaining({ pool: 'btc.viabtc.com:3333', user: 'listed', algorithm: 'sha256' }));
      expect(response.text).not.toContain('very-secret-password');
      expect(response.text).not.toMatch(/password/i);
    });
  });

  it('answers unknown routes with JSON 404', async () => {
    const response = await http
      .get('/api/v1/nothing-here')
      .expect(404)
      .expect('Content-Type', /application\/json/);
    expect(response.body).toEqual({ statusCode: 404, error: 'no route GET /api/v1/nothing-here' });
    await http
      .get('/nothing-here')
      .expect(404)
      .expect('Content-Type', /application\/json/);
  });

  it('answers /healthz and /readyz (database and Stratum checked), outside /api/v1', async () => {
    const live = await http.get('/healthz').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await http.get('/readyz').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, stratum: { status: 'up' } } });
    await http.get('/api/v1/healthz').expect(404);
  });

  it('serves the farm page at / with its assets, and the farm API behind the token', async () => {
    const page = await http.get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="/ui/app.js"></script>');
    for (const asset of ['app.js', 'app.css', 'uPlot.iife.min.js', 'uPlot.min.css']) await http.get(`/ui/${asset}`).expect(200);
    await http.get('/ui/nothing.js').expect(404);
    await http.get('/api/v1/farm').expect(401);
    const farm = await http.get('/api/v1/farm').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(farm.body).toMatchObject({ hashrate: 0, workers: 0, shares: { accepted: 0, rejected: 0, reasons: {} } });
    expect(Array.isArray(farm.body.pools) && Array.isArray(farm.body.users)).toBe(true);
    const stats = await http.get('/api/v1/farm/stats?step=1m').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    // The last hour by minute (61 points when the hour does not start on a whole minute).
    expect(stats.body.points.length).toBeGreaterThanOrEqual(60);
    expect(stats.body.points.length).toBeLessThanOrEqual(61);
  });

  it('serves Prometheus metrics at /metrics with the standard process metrics', async () => {
    const response = await http.get('/metrics').expect(200);
    expect(response.text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(response.text).toMatch(/^nodejs_heap_size_total_bytes \d/m);
  });
});

describeEachStore('management API without a token', (factory) => {
  let store: TestStore;
  let proxy: RunningProxy;

  beforeAll(async () => {
    store = await factory.create();
    proxy = await startTestProxy([...store.flags, '--web.ui=false']);
  });

  it('has no farm page with --web.ui=false', async () => {
    await request(`http://${proxy.webAddress}`).get('/').expect(404);
  });

  afterAll(async () => {
    await proxy?.close();
    await store?.dispose();
  });

  it('answers 403 saying how to enable it, while registration stays open', async () => {
    const http = request(`http://${proxy.webAddress}`);
    const response = await http.get('/api/v1/users').set(auth).expect(403);
    expect(response.body.error).toMatch(/--api\.token/);
    await http.post('/api/v1/pools').send({ host: 'a.b', port: 1, algorithm: 'sha256' }).expect(403);
    await http.post('/api/v1/users').send({ pool: 'btc.f2pool.com:3333', user: 'u' }).expect(201);
  });
});

describeEachStore('persistence', (factory) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await factory.create();
  });

  afterAll(async () => {
    await store?.dispose();
  });

  it('keeps every user across a restart on the same database, and migrations run again as a no-op', async () => {
    const names: string[] = [];
    let proxy = await startTestProxy([...store.flags, `--api.token=${TOKEN}`]);
    try {
      for (let i = 0; i < 5; i++) {
        const response = await request(`http://${proxy.webAddress}`)
          .post('/api/v1/users')
          .send({ pool: 'btc.f2pool.com:1314', user: `acc${i}`, password: 'p' })
          .expect(201);
        names.push(response.body.name);
      }
    } finally {
      await proxy.close();
    }
    proxy = await startTestProxy([...store.flags, `--api.token=${TOKEN}`]);
    try {
      const http = request(`http://${proxy.webAddress}`);
      const listed = await http.get('/api/v1/users').set(auth).expect(200);
      expect(listed.body.map((user: { name: string }) => user.name)).toEqual(expect.arrayContaining(names));
      for (let i = 0; i < 5; i++) {
        const again = await http
          .post('/api/v1/users')
          .send({ pool: 'btc.f2pool.com:1314', user: `acc${i}`, password: 'p' })
          .expect(200);
        expect(again.body.name).toBe(names[i]);
      }
      // The seed was not inserted twice.
      expect((await http.get('/api/v1/pools').expect(200)).body).toHaveLength(65);
      if (store.kind === 'sqlite') {
        const dataSource = proxy.app.get(DataSource);
        expect(await dataSource.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
        expect(await dataSource.query('PRAGMA busy_timeout')).toEqual([{ timeout: 5000 }]);
      }
    } finally {
      await proxy.close();
    }
  });
});
