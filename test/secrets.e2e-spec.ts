import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import request from 'supertest';
import type { RunningProxy } from '../src/bootstrap.js';
import { startTestProxy } from './support/proxy.js';
import { SimMiner } from './support/sim-miner.js';
import { SimPool } from './support/sim-pool.js';
import { describeEachStore, TestStore, withDatabase } from './support/stores.js';

const TOKEN = 'secrets-token';

/** The stored password columns, read past the app (what someone with the database file sees). */
const storedPasswords = (store: TestStore): Promise<string[]> =>
  withDatabase(store, async (dataSource) => {
    const users: { secret: string; digest: string }[] = await dataSource.query(
      'SELECT "account_secret" AS "secret", "account_password" AS "digest" FROM "users"',
    );
    const backups: { secret: string }[] = await dataSource.query('SELECT "account_password" AS "secret" FROM "user_backups"');
    return [...users.flatMap((user) => [user.secret, user.digest]), ...backups.map((backup) => backup.secret)];
  });

describeEachStore('pool passwords at rest', (factory) => {
  let store: TestStore;
  let pool: SimPool;
  let proxy: RunningProxy | null = null;
  const start = async (flags: string[]) => {
    proxy = await startTestProxy([...store.flags, `--api.token=${TOKEN}`, ...flags]);
    return proxy;
  };
  const stop = async () => {
    await proxy?.close();
    proxy = null;
  };
  const http = () => request(`http://${proxy!.webAddress}`);

  beforeAll(async () => {
    store = await factory.create();
    pool = new SimPool({ accounts: { acct: 'pool-pass-1', spare: 'pool-pass-2' } });
    await pool.start();
  });
  afterAll(async () => {
    await stop();
    await pool.stop();
    await store.dispose();
  });

  it('keeps passwords out of the unique index, encrypts them once a key is set, and re-encrypts on a key change', async () => {
    await start([]);
    await http()
      .post('/api/v1/pools')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({ host: '127.0.0.1', port: pool.port, algorithm: 'sha256' })
      .expect(201);
    const body = {
      pool: `127.0.0.1:${pool.port}`,
      user: 'acct',
      password: 'pool-pass-1',
      backups: [{ pool: `127.0.0.1:${pool.port}`, user: 'spare', password: 'pool-pass-2' }],
    };
    const name = (await http().post('/api/v1/users').send(body).expect(201)).body.name as string;
    await stop();
    // Without a key: as given, but the unique index holds a digest.
    const plain = await storedPasswords(store);
    expect(plain).toContain('pool-pass-1');
    expect(plain.filter((value) => value.startsWith('sha256:'))).toHaveLength(1);
    if (store.kind === 'sqlite') expect(statSync(store.flags[0].slice('--db.path='.length)).mode & 0o777).toBe(0o600);

    await start(['--secrets.key=first key']);
    await stop();
    const sealed = await storedPasswords(store);
    expect(sealed.join(' ')).not.toContain('pool-pass');
    expect(sealed.filter((value) => value.startsWith('enc:v1:'))).toHaveLength(2);
    if (store.kind === 'sqlite') expect(readFileSync(store.flags[0].slice('--db.path='.length)).includes('pool-pass-1')).toBe(false);

    // The same credentials still get the same name, and the pool gets the real password.
    await start(['--secrets.key=first key']);
    expect((await http().post('/api/v1/users').send(body).expect(200)).body.name).toBe(name);
    const miner = new SimMiner(Number(proxy!.stratumAddress.split(':').pop()), { login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.close();
    await stop();

    // A wrong key, or none, stops the start with one clear line.
    await expect(start(['--secrets.key=wrong key'])).rejects.toThrow(/PROXY_SECRET_KEY does not decrypt the stored pool passwords/);
    await expect(start([])).rejects.toThrow(/the stored pool passwords are encrypted: start with PROXY_SECRET_KEY/);

    // A new key with the previous one: re-encrypted, and the old key no longer opens them.
    await start(['--secrets.key=second key', '--secrets.previousKey=first key']);
    await stop();
    const resealed = await storedPasswords(store);
    expect(resealed.filter((value) => value.startsWith('enc:v1:'))).toHaveLength(2);
    expect(resealed.find((value) => value.startsWith('enc:v1:'))).not.toBe(sealed.find((value) => value.startsWith('enc:v1:')));
    await expect(start(['--secrets.key=first key'])).rejects.toThrow(/does not decrypt/);
    await start(['--secrets.key=second key']);
    expect((await http().post('/api/v1/users').send(body).expect(200)).body.name).toBe(name);
  });
});

describeEachStore(
  'one process per SQLite file',
  (factory) => {
    it('refuses a second proxy on the same file with one clear line, and takes over a lock left by a dead process', async () => {
      const store = await factory.create();
      const first = await startTestProxy(store.flags);
      try {
        await expect(startTestProxy(store.flags)).rejects.toThrow(/another proxy \(pid \d+\) is using the SQLite database .*proxy\.db/);
      } finally {
        await first.close();
      }
      // A lock whose process is gone (a crash) does not keep the proxy from starting.
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      writeFileSync(`${store.flags[0].slice('--db.path='.length)}.lock`, String(dead));
      const second = await startTestProxy(store.flags);
      await second.close();
      await store.dispose();
    });
  },
  ['sqlite'],
);
