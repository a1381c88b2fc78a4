import { UpstreamChannels } from '../src/upstream/channels.service.js';
import { Farm, TOKEN } from './support/farm.js';
import { until } from './support/until.js';

describe('Stratum relay scenarios', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--upstream.connectTimeout=2s', '--upstream.submitTimeout=1s', '--stratum.sessionLinger=4s']));
  afterAll(() => farm.stop());

  it('pool extranonce2 shrinking under miners: set_extranonce for a miner that subscribed to it, reconnect and resume for one that did not', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'small');
    const subscriber = farm.miner({ login: `${name}.xn`, extranonceSubscribe: true });
    const plain = farm.miner({ login: `${name}.plain` });
    for (const miner of [subscriber, plain]) {
      expect((await miner.start()).result).toBe(true);
      await miner.waitForJob();
    }
    const told = plain.extranonce2Size;
    const oldJob = subscriber.job!.id;
    // The pool's extranonce2 drops to 4 bytes: the slot byte and prefix leave 2 for the miners.
    pool.setExtranonce(4);
    await subscriber.waitUntil(() => subscriber.notifications.some((n) => n.method === 'mining.set_extranonce'), 'set_extranonce');
    expect(subscriber.extranonce2Size).toBe(2);
    await subscriber.waitUntil(() => subscriber.job!.id !== oldJob, 'the job after set_extranonce');
    await subscriber.mine(3);
    expect(subscriber.rejected).toEqual([]);
    expect(subscriber.isClosed).toBe(false);

    await plain.closed; // the proxy closes it: its extranonce2 size cannot be changed in place
    const first = { session: plain.sessionId, extranonce1: plain.extranonce1 };
    expect(told).toBeGreaterThan(2);
    expect((await plain.start()).result).toBe(true);
    expect(plain.sessionId).toBe(first.session);
    expect(plain.extranonce1).toBe(first.extranonce1);
    expect(plain.extranonce2Size).toBe(2);
    await plain.waitForJob();
    await plain.mine(3);
    expect(plain.rejected).toEqual([]);
    expect(pool.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(6);
  });

  it('keeps miners connected and mining across a pool mining.set_extranonce', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'xn');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    await miner.mine(2);
    const before = pool.accepted.length;
    const oldJob = miner.job!.id;
    pool.setExtranonce();
    await miner.waitUntil(() => miner.job !== null && miner.job.id !== oldJob, 'the job after set_extranonce');
    expect(miner.job!.clean).toBe(true);
    await miner.mine(3);
    expect(miner.isClosed).toBe(false);
    expect(miner.rejected).toEqual([]);
    expect(pool.accepted.length - before).toBe(3);
    expect(pool.rejected).toEqual([]);
    // The miner never saw the pool's extranonce change.
    expect(miner.notifications.filter((n) => n.method === 'mining.set_extranonce')).toEqual([]);
  });

  it('rides out a pool restart (clean job, shares accepted again) and disconnects miners when the pool stays away', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'restart');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    await miner.mine(2);
    const jobsBefore = miner.notifications.filter((n) => n.method === 'mining.notify').length;
    await pool.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // While the pool is away, a share for the old job cannot go anywhere.
    const whileDown = await miner.mineOne();
    expect(whileDown.error).toEqual([20, expect.stringContaining('pool down'), null]);
    await pool.start();
    await miner.waitUntil(
      () => miner.notifications.filter((n) => n.method === 'mining.notify').length > jobsBefore,
      'a job after the pool came back',
      8000,
    );
    expect(miner.job!.clean).toBe(true);
    expect(miner.isClosed).toBe(false);
    await miner.mine(3);
    expect(miner.accepted).toHaveLength(5);
    expect(pool.rejected).toEqual([]);

    // Away for good: the miner stays connected for the linger time (work would follow at once), then is closed.
    await pool.stop();
    const started = Date.now();
    await until(
      () => ![...farm.get(UpstreamChannels).all()].some((channel) => channel.isReady && channel.poolAddress.endsWith(`:${pool.port}`)),
      'the proxy to see the pool go',
    );
    const whileAway = await miner.mineOne();
    expect(whileAway.error).toEqual([20, expect.stringContaining('pool down'), null]);
    await miner.closed;
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThan(3500);
    expect(waited).toBeLessThan(8000);
  });

  it('resumes a session with its id: same extranonce1, difficulty and job resent, shares accepted', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'resume');
    const miner = farm.miner({ login: `${name}.rig` });
    await miner.start();
    await miner.waitForJob();
    await miner.mine(2);
    const first = { session: miner.sessionId, extranonce1: miner.extranonce1, job: miner.job!.id };
    const poolConnections = pool.connectionsAccepted;
    await miner.close();
    miner.job = null;
    miner.notifications.length = 0;
    expect((await miner.start()).result).toBe(true);
    expect(miner.sessionId).toBe(first.session);
    expect(miner.extranonce1).toBe(first.extranonce1);
    await miner.waitForJob();
    expect(miner.notifications.map((n) => n.method)).toEqual(['mining.set_difficulty', 'mining.notify']);
    expect(miner.job!.id).toBe(first.job);
    await miner.mine(3);
    expect(miner.rejected).toEqual([]);
    // The same pool connection served the resumed session.
    expect(pool.connectionsAccepted).toBe(poolConnections);
    expect(pool.accepted).toHaveLength(5);
  });

  it('negotiates version rolling, relays a narrowed pool mask, and gets rolled shares accepted', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8, versionMask: 0x00ffe000 });
    const name = await farm.register(pool, 'rolling');
    const miner = farm.miner({ login: name, versionRollingMask: 'ffffffff' });
    await miner.start();
    // Answered at once with the proxy's allowed mask; the pool narrows it.
    await miner.waitUntil(() => miner.versionMask === 0x00ffe000, 'mining.set_version_mask');
    expect(miner.notifications.find((n) => n.method === 'mining.set_version_mask')?.params).toEqual(['00ffe000']);
    await miner.waitForJob();
    await miner.mine(3, { versionBits: '00002000' });
    await miner.mine(1, { versionBits: '00ffe000' });
    expect(miner.rejected).toEqual([]);
    expect(pool.accepted).toHaveLength(4);
    // Bits outside the negotiated mask never reach the pool.
    const share = miner.findShare({ versionBits: '00002000' });
    const outside = await miner.request('mining.submit', [name, share.jobId, share.extranonce2, share.ntime, share.nonce, '1f000000']);
    expect(outside.error).toEqual([20, 'version bits outside the negotiated mask', null]);
    expect(pool.shares).toHaveLength(4);
  });

  it("answers authorize with the pool's reason for credentials it refuses, and false for unknown names", async () => {
    const pool = await farm.addPool({ accounts: { good: 'right' } });
    const wrong = await farm.register(pool, 'good', 'wrong');
    const miner = farm.miner({ login: wrong });
    const refused = await miner.start();
    expect(refused.result).toBeNull();
    expect(refused.error).toEqual([24, 'pool refused: unauthorized worker', null]);
    expect(miner.isClosed).toBe(false);
    const unknown = farm.miner({ login: '0123456789abcdef' });
    expect((await unknown.start()).result).toBe(false);
    const right = await farm.register(pool, 'good', 'right');
    const ok = farm.miner({ login: right });
    expect((await ok.start()).result).toBe(true);
  });

  it('refuses a name right after it was deleted, although names are answered from memory for a few seconds', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'short-lived');
    const first = farm.miner({ login: `${name}.a` });
    expect((await first.start()).result).toBe(true);
    await farm.http.delete(`/api/v1/users/${name}`).set('Authorization', `Bearer ${TOKEN}`).expect(200);
    const second = farm.miner({ login: `${name}.b` });
    expect((await second.start()).result).toBe(false);
  });

  it('answers a share the pool never answers with error 20 after the submit timeout, without holding up other messages', async () => {
    const pool = await farm.addPool({ silentSubmits: true });
    const name = await farm.register(pool, 'silent');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    const share = miner.findShare();
    const pending = miner.request('mining.submit', [name, share.jobId, share.extranonce2, share.ntime, share.nonce]);
    // Later messages are answered while the share waits for its verdict.
    const started = Date.now();
    expect((await miner.request('mining.suggest_difficulty', [1])).result).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    const verdict = await pending;
    expect(verdict.error).toEqual([20, 'pool did not answer the share in time', null]);
  });

  it('follows client.reconnect to the same host and refuses another host', async () => {
    const pool = await farm.addPool({ extranonce2Size: 8 });
    const name = await farm.register(pool, 'redirect');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    const connections = pool.connectionsAccepted;
    pool.broadcast('client.reconnect', ['evil.example.com', 3333, 0]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pool.connectionsAccepted).toBe(connections);
    const notifies = () => miner.notifications.filter((n) => n.method === 'mining.notify').length;
    const before = notifies();
    pool.broadcast('client.reconnect', []);
    await until(() => pool.connectionsAccepted === connections + 1, 'the reconnect');
    await miner.waitUntil(() => notifies() > before, 'a job on the new pool connection');
    expect(miner.job!.clean).toBe(true);
    await miner.mine(2);
    expect(miner.rejected).toEqual([]);
    expect(miner.isClosed).toBe(false);
  });
});

describe('session lifetime', () => {
  const farm = new Farm();

  beforeAll(() => farm.start(['--stratum.sessionLinger=400ms', '--upstream.connectTimeout=2s', '--upstream.channelIdle=100ms']));
  afterAll(() => farm.stop());

  it('closes the pool connection once a disconnected session was not resumed within the linger time', async () => {
    const pool = await farm.addPool();
    const name = await farm.register(pool, 'linger');
    const miner = farm.miner({ login: name });
    await miner.start();
    await miner.waitForJob();
    expect(pool.peers.size).toBe(1);
    await miner.close();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(pool.peers.size).toBe(1); // still lingering
    await until(() => pool.peers.size === 0, 'the pool connection to close', 3000);
    // Too late to resume: a fresh session with a new extranonce1 slot.
    const old = miner.sessionId;
    expect((await miner.start()).result).toBe(true);
    expect(miner.sessionId).not.toBe(old);
  });

  it('moves a session to the pool of another name it authorizes with', async () => {
    const first = await farm.addPool();
    const second = await farm.addPool({ extranonce2Size: 6 });
    const nameA = await farm.register(first, 'first');
    const nameB = await farm.register(second, 'second');
    const miner = farm.miner({ login: nameA });
    await miner.start();
    await miner.waitForJob();
    await miner.mine(1);
    miner.job = null;
    expect((await miner.request('mining.authorize', [nameB, 'x'])).result).toBe(true);
    await miner.waitForJob();
    await miner.mine(2);
    expect(miner.rejected).toEqual([]);
    expect(first.accepted).toHaveLength(1);
    expect(second.accepted.map((share) => share.user)).toEqual(['second', 'second']);
    await until(() => first.peers.size === 0, 'the old pool connection to close', 2000);
  });

  it('disconnects the miner when the pool refuses the account on a later reconnect', async () => {
    const pool = await farm.addPool({ accounts: { acct: 'pw' } });
    const name = await farm.register(pool, 'acct', 'pw');
    const miner = farm.miner({ login: name });
    expect((await miner.start()).result).toBe(true);
    await miner.waitForJob();
    pool.options.accounts = {};
    pool.dropAll();
    await miner.closed;
    expect(miner.isClosed).toBe(true);
  });
});
