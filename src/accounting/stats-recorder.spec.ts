import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { parseCommandLine } from '../config/app-config.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { MINUTE_MS, newStatsSlot, StatsRecorder } from './stats-recorder.js';

const config = (() => {
  const request = parseCommandLine([], {});
  if (request.kind !== 'run') throw new Error('unreachable');
  return request.config;
})();

const MINUTE = Date.UTC(2026, 10, 26, 12, 0, 0);

describe('StatsRecorder flush', () => {
  let dir: string;
  let dataSource: DataSource;
  let recorder: StatsRecorder;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stats-recorder-'));
    dataSource = new DataSource(dataSourceOptions({ type: 'sqlite', path: join(dir, 'stats.db') }));
    await dataSource.initialize();
    recorder = new StatsRecorder(config, dataSource);
  });

  afterEach(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () =>
    (await dataSource.query('SELECT worker, sent, one_sent AS "oneSent" FROM worker_stats ORDER BY worker')) as {
      worker: string;
      sent: number;
      oneSent: number;
    }[];

  it('writes many workers in several statements, letting other work run between them', async () => {
    for (let i = 0; i < 250; i++) recorder.record('user1', `w${String(i).padStart(3, '0')}`, 'sent', 2, MINUTE + 1000);
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    const statements = vi.spyOn(dataSource, 'query');
    await recorder.flush();
    const upserts = statements.mock.calls.filter(([sql]) => String(sql).startsWith('INSERT INTO "worker_stats"'));
    expect(upserts).toHaveLength(3); // 100 + 100 + 50 rows
    expect(otherWorkRan).toBe(true); // the event loop turned during the flush
    const rows = await stored();
    expect(rows).toHaveLength(250);
    expect(rows.every((row) => Number(row.sent) === 1 && Number(row.oneSent) === 2)).toBe(true);
  });

  it('retries only the statement that failed, so no row is lost or counted twice', async () => {
    for (let i = 0; i < 150; i++) recorder.record('user1', `w${String(i).padStart(3, '0')}`, 'sent', 1, MINUTE + 1000);
    const query = dataSource.query.bind(dataSource);
    let upserts = 0;
    vi.spyOn(dataSource, 'query').mockImplementation((sql: string, parameters?: unknown[] | object) => {
      if (sql.startsWith('INSERT INTO "worker_stats"') && ++upserts === 2) return Promise.reject(new Error('database is locked'));
      return query(sql, parameters);
    });
    await recorder.flush();
    expect((await stored()).length).toBe(100); // the second statement (50 rows) failed

    recorder.record('user1', 'w149', 'sent', 1, MINUTE + 2000); // a worker of the failed statement sends again
    await recorder.flush();
    const rows = await stored();
    expect(rows).toHaveLength(150);
    expect(rows.map((row) => Number(row.sent))).toEqual([...Array<number>(149).fill(1), 2]);
  });

  it('adds into rows written earlier in the same minute', async () => {
    recorder.record('user1', 'w1', 'sent', 3, MINUTE + 1000);
    await recorder.flush();
    recorder.record('user1', 'w1', 'sent', 4, MINUTE + MINUTE_MS - 1);
    await recorder.flush();
    expect((await stored()).map((row) => [Number(row.sent), Number(row.oneSent)])).toEqual([[2, 7]]);
  });

  it('records the same rows with a worker slot as without, across minutes, flushes and a failed statement', async () => {
    // Two recorders, one fed with a slot per worker (the share path's row cache), one without: the same
    // shares, the same stored rows. The slot must follow a new minute, a flush (a new pending map), a
    // worker of another name and rows put back after a failed write.
    const otherDir = mkdtempSync(join(tmpdir(), 'stats-recorder-'));
    const otherSource = new DataSource(dataSourceOptions({ type: 'sqlite', path: join(otherDir, 'stats.db') }));
    await otherSource.initialize();
    try {
      const plain = new StatsRecorder(config, otherSource);
      const slots = new Map([
        ['w1', newStatsSlot()],
        ['w2', newStatsSlot()],
      ]);
      const shares: [string, string, 'sent' | 'accepted' | 'rejected', number, number][] = [
        ['user1', 'w1', 'sent', 1, MINUTE + 1],
        ['user1', 'w1', 'accepted', 1, MINUTE + 2],
        ['user1', 'w2', 'sent', 2, MINUTE + 3],
        ['user1', 'w2', 'sent', 32, MINUTE + 4], // the same minute, after a flush
        ['user1', 'w1', 'sent', 4, MINUTE + MINUTE_MS], // the next minute
        ['user2', 'w1', 'rejected', 8, MINUTE + MINUTE_MS + 1], // another name, the same worker's slot
        ['user1', 'w1', 'accepted', 16, MINUTE + MINUTE_MS + 2],
      ];
      const feed = (from: number, to: number) => {
        for (const [user, worker, kind, one, at] of shares.slice(from, to)) {
          recorder.record(user, worker, kind, one, at, slots.get(worker));
          plain.record(user, worker, kind, one, at);
        }
      };
      feed(0, 3);
      await Promise.all([recorder.flush(), plain.flush()]);
      // A failed write puts its rows back into the new pending map; the slot still points at the old one.
      feed(3, 5);
      const failing = vi.spyOn(dataSource, 'query').mockRejectedValueOnce(new Error('database is locked'));
      const failingPlain = vi.spyOn(otherSource, 'query').mockRejectedValueOnce(new Error('database is locked'));
      await Promise.all([recorder.flush(), plain.flush()]);
      failing.mockRestore();
      failingPlain.mockRestore();
      feed(5, 7);
      await Promise.all([recorder.flush(), plain.flush()]);
      const all = (source: DataSource) =>
        source.query(
          'SELECT user_name, worker, minute, sent, accepted, rejected, one_sent, one_accepted, one_rejected FROM worker_stats ORDER BY user_name, worker, minute',
        ) as Promise<unknown[]>;
      const withSlots = await all(dataSource);
      expect(withSlots).toEqual(await all(otherSource));
      expect(withSlots).toHaveLength(4);
    } finally {
      await otherSource.destroy();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
