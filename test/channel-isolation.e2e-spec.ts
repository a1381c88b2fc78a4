// One miner cannot get shares it should not past the proxy onto the pool connection it shares (issue 21).
import { Farm } from './support/farm.js';
import type { SimMiner } from './support/sim-miner.js';
import type { SimPool } from './support/sim-pool.js';

describe('channel isolation', () => {
  const farm = new Farm();
  let pool: SimPool;
  let name: string;
  let good: SimMiner;

  beforeAll(async () => {
    // Miners at the pool's difficulty, so every share goes up and the pool sees what slips through.
    await farm.start(['--vardiff.shareInterval=0']);
    // 2^-26: 64 hashes a share, so the 1,024 shares below cost this test process little.
    pool = await farm.addPool({ extranonce2Size: 8, difficulty: 2 ** -26 });
    name = await farm.register(pool, 'isolated');
    good = farm.miner({ login: `${name}.good` });
    await good.start();
    await good.waitForJob();
  });

  afterAll(async () => {
    await farm.stop();
  });

  it('refuses a share past the per-session duplicate bound of a job instead of forwarding it unchecked', async () => {
    const attacker = farm.miner({ login: `${name}.attacker` });
    await attacker.start();
    await attacker.waitForJob();
    const submit = (s: { jobId: string; extranonce2: string; ntime: string; nonce: string }) =>
      attacker.request('mining.submit', [attacker.options.login, s.jobId, s.extranonce2, s.ntime, s.nonce]);
    // 1,024 shares of one job fill the session's part of the job's duplicate set (MAX_SHARES_PER_SESSION_JOB).
    const first = attacker.findShare();
    expect((await submit(first)).result).toBe(true);
    for (let i = 1; i < 1024; i++) {
      const share = attacker.findShare();
      expect(share.jobId).toBe(first.jobId); // one job throughout, or the bound is never reached
      expect((await submit(share)).result).toBe(true);
    }
    const forwarded = pool.shares.length;
    // The next share, sent twice: before, both went up unremembered and the pool saw a duplicate.
    const past = attacker.findShare();
    expect(past.jobId).toBe(first.jobId);
    const answers = [await submit(past), await submit(past), await submit(first)];
    expect(answers.map((answer) => (answer.error as unknown[])[0])).toEqual([21, 21, 22]);
    expect(pool.shares.length).toBe(forwarded);
    expect(pool.shares.filter((share) => share.reason === 'duplicate share')).toEqual([]);
    // The healthy miner on the same account and job is not refused.
    expect((await good.mineOne()).result).toBe(true);
    await attacker.close();
  });
});
