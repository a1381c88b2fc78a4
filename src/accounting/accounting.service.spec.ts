import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import { parseCommandLine, APP_CONFIG } from '../config/app-config.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AccountingService, WorkerInfo } from './accounting.service.js';
import { StatsRecorder } from './stats-recorder.js';

const config = (() => {
  const request = parseCommandLine(['--metrics.tag=t'], {});
  if (request.kind !== 'run') throw new Error('unreachable');
  return request.config;
})();

const value = async (name: string, labels: Record<string, string>) => {
  const metric = register.getSingleMetric(name);
  const found = (await metric!.get()).values.find((sample) => Object.entries(labels).every(([key, v]) => sample.labels[key] === v));
  return found?.value;
};

describe('AccountingService', () => {
  let accounting: AccountingService;
  const recorded: unknown[][] = [];
  let now = Date.UTC(2026, 10, 24, 12, 0, 0);
  const sha: WorkerInfo = {
    sessionId: 's1',
    sessionTag: 't1',
    address: '10.0.0.1:5000',
    ip: '10.0.0.1',
    user: 'u1',
    rig: 'r1',
    hash: 'sha256',
    pool: 'p:1',
    account: { index: 0, user: 'acct1' },
    divider: 1,
    validated: false,
  };
  const scrypt: WorkerInfo = {
    sessionId: 's2',
    sessionTag: 't2',
    address: '10.0.0.2:5000',
    ip: '10.0.0.2',
    user: 'u2',
    rig: null,
    hash: 'scrypt',
    pool: 'p:2',
    account: { index: 0, user: 'acct2' },
    divider: 65536,
    validated: true,
  };

  beforeEach(async () => {
    const module = await Test.createTestingModule({
      imports: [MetricsModule],
      providers: [
        AccountingService,
        { provide: APP_CONFIG, useValue: config },
        // The sixth argument is the worker's row cache (StatsSlot), not part of what is recorded.
        { provide: StatsRecorder, useValue: { record: (...args: unknown[]) => recorded.push(args.slice(0, 5)) } },
      ],
    }).compile();
    accounting = module.get(AccountingService);
    accounting.now = () => now;
    accounting.onModuleInit();
    recorded.length = 0;
  });

  afterEach(() => accounting.onModuleDestroy());

  it('counts sent and accepted shares and difficulty-1 shares with the divider', async () => {
    accounting.workerConnected(sha);
    accounting.workerConnected(scrypt);
    for (const info of [sha, scrypt]) {
      accounting.shareForwarded(info.sessionId, 65536);
      accounting.shareAnswered(info.sessionId, 65536, { accepted: true });
      accounting.shareForwarded(info.sessionId, 65536);
      accounting.shareAnswered(info.sessionId, 65536, { accepted: false, reason: 'duplicate' });
    }
    const shaWorker = { worker: sha.address, user: 'u1', hash: 'sha256', pool: 'p:1' };
    const scryptWorker = { worker: scrypt.address, user: 'u2', hash: 'scrypt', pool: 'p:2' };
    expect(await value('proxy_worker_sended', shaWorker)).toBe(2);
    expect(await value('proxy_worker_one_sended', shaWorker)).toBe(131072);
    expect(await value('proxy_worker_one_accepted', shaWorker)).toBe(65536);
    expect(await value('proxy_worker_one_sended', scryptWorker)).toBe(2);
    expect(await value('proxy_worker_one_accepted', scryptWorker)).toBe(1);
    expect(await value('proxy_shares_rejected_total', { user: 'u2', reason: 'duplicate' })).toBe(1);
    expect(await value('proxy_rig_shares_total', { user: 'u2', rig: '10.0.0.2', result: 'accepted' })).toBe(1);
    expect(recorded).toContainEqual(['u1', 'r1', 'accepted', 65536, now]);
    expect(recorded).toContainEqual(['u2', '10.0.0.2:5000', 'accepted', 1, now]);
  });

  it('reports speed over the connected time, with a fake clock', async () => {
    accounting.workerConnected(sha);
    now += 10_000;
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    now += 50_000;
    accounting.refreshSpeeds();
    expect(await value('proxy_worker_speed', { worker: sha.address })).toBeCloseTo(2 ** 32 / 60, 6);
    now += 9 * 60_000;
    accounting.refreshSpeeds();
    expect(await value('proxy_worker_speed', { worker: sha.address })).toBe(0);
  });

  it('publishes the speeds from the first share, at the time of the scrape, as the workers API computes them', async () => {
    accounting.workerConnected(sha);
    now += 5000;
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    now += 1000;
    const api = accounting.workersSnapshot().find((worker) => worker.session === sha.sessionTag)!.hashrate['1m'];
    expect(api).toBeCloseTo(2 ** 32 / 6, 6);
    expect(await value('proxy_worker_speed', { worker: sha.address })).toBe(api);
    expect(await value('proxy_user_speed', { user: 'u1' })).toBe(api);
    expect(await value('proxy_rig_speed', { user: 'u1', rig: 'r1' })).toBe(api);
    now += 4000; // and it moves with the clock, without a refresh
    expect(await value('proxy_worker_speed', { worker: sha.address })).toBeCloseTo(2 ** 32 / 10, 6);
  });

  it('adds difficulty-1 shares up without float noise, however many there are', async () => {
    accounting.workerConnected({ ...sha, divider: 1000 }); // difficulty 1 / 1000: 0.001 a share
    for (let i = 0; i < 47; i++) accounting.shareForwarded(sha.sessionId, 1);
    expect(await value('proxy_worker_one_sended', { worker: sha.address })).toBe(0.047);
    for (let i = 0; i < 100_000 - 47; i++) accounting.shareForwarded(sha.sessionId, 1);
    // A plain sum of 100,000 shares of 0.001 is 100.00000000011343, noise within 15 digits.
    expect(await value('proxy_worker_one_sended', { worker: sha.address })).toBe(100);
  });

  it("takes a validated worker's speed from its valid shares at its own difficulty, not from pool verdicts", async () => {
    accounting.workerConnected(scrypt);
    now += 10_000;
    // Four shares valid at the miner's difficulty 16384; one of them also met the pool's 65536 and was accepted.
    for (let i = 0; i < 4; i++) accounting.shareValid(scrypt.sessionId, 16384);
    accounting.shareForwarded(scrypt.sessionId, 65536);
    accounting.shareAnswered(scrypt.sessionId, 65536, { accepted: true });
    now += 50_000;
    accounting.refreshSpeeds();
    const worker = { worker: scrypt.address, user: 'u2', hash: 'scrypt', pool: 'p:2' };
    expect(await value('proxy_worker_speed', worker)).toBeCloseTo((2 ** 32 * 1) / 60, 6); // 4 * 16384 / 65536 = 1
    expect(await value('proxy_user_speed', { user: 'u2' })).toBeCloseTo((2 ** 32 * 1) / 60, 6);
    expect(await value('proxy_worker_valid_shares_total', worker)).toBe(4);
    expect(await value('proxy_worker_valid_difficulty_one_shares_total', worker)).toBe(1);
    expect(await value('proxy_worker_accepted', worker)).toBe(1);
    expect(await value('proxy_worker_one_accepted', worker)).toBe(1);
  });

  it("moves a resumed worker's series to its new address with the session's totals", async () => {
    accounting.workerConnected(sha);
    accounting.shareForwarded(sha.sessionId, 1);
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    accounting.workerDisconnected(sha.sessionId);
    expect(await value('proxy_worker_up', { worker: sha.address })).toBe(0);
    accounting.workerConnected({ ...sha, address: '10.0.0.1:6000' });
    expect(await value('proxy_worker_up', { worker: sha.address })).toBeUndefined();
    expect(await value('proxy_worker_accepted', { worker: '10.0.0.1:6000' })).toBe(1);
    accounting.workerEnded(sha.sessionId);
    expect(await value('proxy_worker_accepted', { worker: '10.0.0.1:6000' })).toBeUndefined();
    expect(await value('proxy_shares_total', { user: 'u1', result: 'accepted' })).toBe(1);
  });

  it('drops rig series after the rig TTL without a connection', async () => {
    accounting.workerConnected(sha);
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    accounting.workerEnded(sha.sessionId);
    now += config.metrics.rigTtlMs - 1000;
    accounting.sweepRigs();
    expect(await value('proxy_rig_shares_total', { rig: 'r1', result: 'accepted' })).toBe(1);
    now += 2000;
    accounting.sweepRigs();
    expect(await value('proxy_rig_shares_total', { rig: 'r1', result: 'accepted' })).toBeUndefined();
  });

  it('counts a late verdict of a lingering worker whose rig expired meanwhile in a new rig series', async () => {
    accounting.workerConnected(sha);
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    accounting.workerDisconnected(sha.sessionId); // the session lingers, holding its rig group
    now += config.metrics.rigTtlMs + 1;
    accounting.sweepRigs();
    expect(await value('proxy_rig_shares_total', { rig: 'r1', result: 'accepted' })).toBeUndefined();
    accounting.shareAnswered(sha.sessionId, 1, { accepted: true });
    expect(await value('proxy_rig_shares_total', { rig: 'r1', result: 'accepted' })).toBe(1);
    expect(await value('proxy_shares_total', { user: 'u1', result: 'accepted' })).toBe(2);
  });

  it('publishes no series for a lingering worker that never had a share, and its series again when it resumes', async () => {
    accounting.workerConnected(sha);
    accounting.workerDifficultyChanged(sha.sessionId, 8);
    accounting.workerDisconnected(sha.sessionId);
    for (const name of ['proxy_worker_up', 'proxy_worker_difficulty', 'proxy_worker_sended', 'proxy_worker_speed'])
      expect(await value(name, { worker: sha.address })).toBeUndefined();
    accounting.workerConnected(sha);
    expect(await value('proxy_worker_up', { worker: sha.address })).toBe(1);
    expect(await value('proxy_worker_difficulty', { worker: sha.address })).toBe(8);
    expect(await value('proxy_worker_sended', { worker: sha.address })).toBe(0);
  });

  describe('rig cap', () => {
    const cap = config.metrics.maxRigsPerUser;
    const rigWorker = (i: number, rig: string | null = `r${i}`): WorkerInfo => ({
      ...sha,
      sessionId: `cap${i}`,
      address: `10.0.${i >> 8}.${i & 255}:5000`,
      ip: `10.0.${i >> 8}.${i & 255}`,
      rig,
    });
    const rigSeries = async (user: string) =>
      (await register.getSingleMetric('proxy_rig_connects_total')!.get()).values.filter((sample) => sample.labels.user === user);
    const fill = () => {
      for (let i = 0; i < cap; i++) accounting.workerConnected(rigWorker(i));
    };

    it('accounts a rig past --metrics.maxRigsPerUser as rig "other" everywhere, and counts it once', async () => {
      fill();
      const past = rigWorker(cap);
      accounting.workerConnected(past);
      accounting.shareForwarded(past.sessionId, 1);
      accounting.shareAnswered(past.sessionId, 1, { accepted: true });
      expect(await value('proxy_rig_shares_total', { user: 'u1', rig: 'other', result: 'accepted' })).toBe(1);
      expect(await value('proxy_rig_connects_total', { user: 'u1', rig: past.rig! })).toBeUndefined();
      expect(await value('proxy_rig_overflow_total', { user: 'u1' })).toBe(1);
      expect((await rigSeries('u1')).length).toBe(cap + 1);
      expect(recorded).toContainEqual(['u1', 'other', 'accepted', 1, now]);
      expect(accounting.workersSnapshot().find((worker) => worker.worker === past.address)!.rig).toBe('other');
      // Resumed on a new connection: the same worker, not counted again; a rig that has a place keeps it.
      accounting.workerDisconnected(past.sessionId);
      accounting.workerConnected({ ...past, address: '10.9.9.9:6000' });
      accounting.workerConnected({ ...rigWorker(0), sessionId: 'again' });
      expect(await value('proxy_rig_overflow_total', { user: 'u1' })).toBe(1);
      expect(await value('proxy_rig_connects_total', { user: 'u1', rig: 'r0' })).toBe(2);
      // Rigless workers are labelled by IP under the same cap; another name has places of its own.
      accounting.workerConnected(rigWorker(cap + 1, null));
      accounting.workerConnected({ ...rigWorker(cap + 2), user: 'u3' });
      expect(await value('proxy_rig_overflow_total', { user: 'u1' })).toBe(2);
      expect(await value('proxy_rig_connects_total', { user: 'u3', rig: `r${cap + 2}` })).toBe(1);
    });

    it('frees the places of rigs expired by the rig TTL', async () => {
      fill();
      for (let i = 0; i < cap; i++) accounting.workerEnded(`cap${i}`);
      now += config.metrics.rigTtlMs + 1;
      accounting.sweepRigs();
      expect(await rigSeries('u1')).toEqual([]);
      accounting.workerConnected(rigWorker(cap));
      expect(await value('proxy_rig_connects_total', { user: 'u1', rig: `r${cap}` })).toBe(1);
      expect(await value('proxy_rig_overflow_total', { user: 'u1' })).toBeUndefined();
    });

    it('cuts rig labels to 64 characters in the series, the statistics and the API', async () => {
      const long = rigWorker(0, `${'a'.repeat(64)}${'b'.repeat(176)}`);
      accounting.workerConnected(long);
      accounting.shareForwarded(long.sessionId, 1);
      expect(await value('proxy_rig_connects_total', { user: 'u1', rig: 'a'.repeat(64) })).toBe(1);
      expect(recorded).toContainEqual(['u1', 'a'.repeat(64), 'sent', 1, now]);
      expect(accounting.workersSnapshot()[0].rig).toBe('a'.repeat(64));
    });
  });
});
