// A live session belongs to its connection: knowing its subscription id is not enough to take it (issue 21, case 2).
import type { LoggerService } from '@nestjs/common';
import { Farm, TOKEN } from './support/farm.js';
import { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';
import { testLogger } from './support/proxy.js';
import { until } from './support/until.js';
import { MinerSessions } from '../src/stratum/session/miner-sessions.service.js';

/** Keeps every line the app logs, to look for what must not be in them. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  private readonly inner = testLogger();
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines.push(String(message));
    this.inner.error(message, ...rest);
  }
}

/**
 * Shares the miner got accepted while mining at a steady 20 a second for `ms`: paced well below what this
 * process can hash, so the count shows what the proxy answered, not how much CPU the attackers took.
 */
async function acceptedWithin(miner: SimMiner, ms: number): Promise<number> {
  const before = miner.accepted.length;
  const started = Date.now();
  for (let i = 0; Date.now() - started < ms && !miner.isClosed; i++) {
    await miner.mineOne();
    const due = started + (i + 1) * 50;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
  return miner.accepted.length - before;
}

describe('session takeover', () => {
  const farm = new Farm();
  const logger = new RecordingLogger();
  let pool: SimPool;
  let name: string;

  beforeAll(async () => {
    farm.logger = logger;
    await farm.start(['--vardiff.shareInterval=0', '--stratum.sessionLinger=20s']);
    // 2^-26: 64 hashes a share, so the victim's pace costs this process next to nothing.
    pool = await farm.addPool({ extranonce2Size: 8, difficulty: 2 ** -26 });
    name = await farm.register(pool, 'takeover');
  });

  afterAll(async () => {
    await farm.stop();
  });

  it('gives a connection offering a live session id a session of its own; the victim mines on undisturbed', async () => {
    const victim = farm.miner({ login: `${name}.victim` });
    expect((await victim.start()).result).toBe(true);
    await victim.waitForJob();
    const victimId = victim.sessionId!;
    const baseline = await acceptedWithin(victim, 3000);
    expect(baseline).toBeGreaterThan(0);

    // 40 takeover attempts while the victim mines, paced as in the probe (45 in 20 s; here 40 in about 3 s):
    // each subscribes with the victim's id. Attackers and victim share this process's CPU, so no flood.
    const attempts = (async () => {
      const seen: { sessionId: string | null; extranonce1: string }[] = [];
      for (let i = 0; i < 40; i++) {
        const attacker = new SimMiner(farm.stratumPort, { login: `${name}.attacker` });
        attacker.sessionId = victimId;
        await attacker.start();
        seen.push({ sessionId: attacker.sessionId, extranonce1: attacker.extranonce1 });
        await attacker.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return seen;
    })();
    const underAttack = await acceptedWithin(victim, 3000);
    const seen = await attempts;

    expect(victim.isClosed).toBe(false);
    expect(victim.rejected).toEqual([]);
    expect(underAttack).toBeGreaterThanOrEqual(Math.floor(baseline * 0.6));
    for (const attacker of seen) {
      expect(attacker.sessionId).not.toBe(victimId);
      expect(attacker.extranonce1).not.toBe(victim.extranonce1);
    }
    // The victim's worker entry is still its own.
    const workers = (await farm.http.get('/api/v1/workers').set('Authorization', `Bearer ${TOKEN}`).expect(200)).body as {
      session: string;
      rig: string;
    }[];
    const entry = workers.find((worker) => worker.rig === 'victim');
    expect(entry).toBeDefined();
    // Subscription ids are keys to a session: neither the API nor the log shows one.
    expect(JSON.stringify(workers)).not.toContain(victimId);
    expect(entry!.session).toMatch(/^[0-9a-f]{8}$/);
    expect(logger.lines.some((line) => line.includes(victimId))).toBe(false);
    expect(logger.lines.filter((line) => line.includes('resume from')).length).toBeGreaterThan(0);
    await victim.close();
  });

  it('still resumes a session whose connection is gone', async () => {
    const miner = farm.miner({ login: `${name}.comeback` });
    await miner.start();
    await miner.waitForJob();
    const first = { sessionId: miner.sessionId, extranonce1: miner.extranonce1 };
    await miner.close();
    expect((await miner.start()).result).toBe(true);
    expect(miner.sessionId).toBe(first.sessionId);
    expect(miner.extranonce1).toBe(first.extranonce1);
    await miner.waitForJob();
    expect((await miner.mineOne()).result).toBe(true);
  });

  it('keeps a session that never sent a share only briefly after its connection closes, one that mined for the linger time', async () => {
    const sessions = farm.get(MinerSessions);
    const idle = farm.miner({ login: `${name}.idle` });
    const busy = farm.miner({ login: `${name}.busy` });
    for (const miner of [idle, busy]) {
      await miner.start();
      await miner.waitForJob();
    }
    expect((await busy.mineOne()).result).toBe(true);
    const ids = () => new Set(Array.from(sessions.all(), (session) => session.id));
    const closedAt = Date.now();
    await idle.close();
    await busy.close();
    await until(async () => !ids().has(idle.sessionId!), 'the shareless session to end', 10_000);
    const idleGoneAfter = Date.now() - closedAt;
    // 5 s for a shareless session, against the 20 s linger the other still has.
    expect(idleGoneAfter).toBeGreaterThanOrEqual(4500);
    expect(idleGoneAfter).toBeLessThan(9000);
    expect(ids().has(busy.sessionId!)).toBe(true);
    expect((await busy.start()).result).toBe(true);
    expect(busy.extranonce1).not.toBe('');
  }, 20_000);
});
