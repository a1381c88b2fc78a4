import { Farm, TOKEN } from './support/farm.js';

describe('registration and read limits per client address', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--api.registrationRate=5', '--api.readRate=20']));
  afterAll(() => farm.stop());

  it('answers 429 past the registration rate, in the original body shape, with Retry-After', async () => {
    const pool = await farm.addPool();
    for (let i = 0; i < 5; i++)
      await farm.http
        .post('/api/v1/users')
        .send({ pool: `127.0.0.1:${pool.port}`, user: `u${i}` })
        .expect(201);
    const refused = await farm.http
      .post('/api/v1/users')
      .send({ pool: `127.0.0.1:${pool.port}`, user: 'u5' })
      .expect(429);
    expect(refused.body).toEqual({ name: '', error: 'too many requests from this address: try again in a minute' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('limits other API requests separately, and never /metrics', async () => {
    // The pool and registrations above made requests too: within 21 more the limit of 20 a minute is met.
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await farm.http.get(i % 2 ? '/api/v1/pools' : '/api/v1/algorithms')).status);
    expect(statuses.filter((status) => status === 200).length).toBeLessThan(20);
    expect(statuses.at(-1)).toBe(429);
    const refused = await farm.http.get('/api/v1/pools').expect(429);
    expect(refused.body.statusCode).toBe(429);
    for (let i = 0; i < 30; i++) await farm.http.get('/metrics').expect(200);
  });
});

describe('registration token', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--api.registrationToken=reg-secret']));
  afterAll(() => farm.stop());

  it('requires the registration (or management) token for POST and PUT /api/v1/users', async () => {
    const pool = await farm.addPool();
    const body = { pool: `127.0.0.1:${pool.port}`, user: 'guarded' };
    const refused = await farm.http.post('/api/v1/users').send(body).expect(401);
    expect(refused.body.name).toBe('');
    expect(refused.body.error).toContain('registration requires a bearer token');
    await farm.http.put('/api/v1/users').set('Authorization', 'Bearer wrong').send(body).expect(401);
    const created = await farm.http.post('/api/v1/users').set('Authorization', 'Bearer reg-secret').send(body).expect(201);
    const again = await farm.http.put('/api/v1/users').set('Authorization', `Bearer ${TOKEN}`).send(body).expect(200);
    expect(again.body.name).toBe(created.body.name);
    // Reading stays public.
    await farm.http.get(`/api/v1/users/${created.body.name}`).expect(200);
  });
});

describe('--pools.allowUnknown without --pools.allowPrivate', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--pools.allowUnknown']));
  afterAll(() => farm.stop());

  it('refuses hosts on loopback, link-local and private addresses, by IP or by name', async () => {
    for (const pool of ['127.0.0.1:3333', '169.254.169.254:80', '10.0.0.8:3333', '[::1]:3333', 'localhost:3333']) {
      const refused = await farm.http.post('/api/v1/users').send({ pool, user: 'x' }).expect(400);
      expect(refused.body.error, pool).toMatch(
        /is not a public address; only public pools can be registered \(see --pools\.allowPrivate\)$/,
      );
    }
    const pools = await farm.http.get('/api/v1/pools').expect(200);
    expect(
      (pools.body as { host: string }[]).filter((p) => ['127.0.0.1', '169.254.169.254', '10.0.0.8', '::1', 'localhost'].includes(p.host)),
    ).toEqual([]);
  });

  it('registers an IPv6 pool address', async () => {
    const created = await farm.http.post('/api/v1/users').send({ pool: '[2001:db8::1]:3333', user: 'v6' }).expect(201);
    const user = await farm.http.get(`/api/v1/users/${created.body.name}`).expect(200);
    expect(user.body.pool).toBe('[2001:db8::1]:3333');
    await farm.http.post('/api/v1/users').send({ pool: '[2001:db8::zz]:3333', user: 'v6' }).expect(400);
  });

  it('still serves pools the operator added on private addresses', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'operator-pool');
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
  });
});
