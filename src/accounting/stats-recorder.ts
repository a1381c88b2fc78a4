import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';

export const MINUTE_MS = 60_000;

/** One (user, worker, minute) row of statistics. */
export interface StatRow {
  userName: string;
  worker: string;
  minute: number;
  sent: number;
  accepted: number;
  rejected: number;
  oneSent: number;
  oneAccepted: number;
  oneRejected: number;
}

/**
 * A caller's memory of the row its last share went to: a worker's next share in the same minute finds it
 * without building the key and looking it up (twice per share). Valid while `pending` is the map it was
 * found in; a flush starts a new map.
 */
export interface StatsSlot {
  row: StatRow | null;
  pending: Map<string, StatRow> | null;
}

export const newStatsSlot = (): StatsSlot => ({ row: null, pending: null });

/** What the spool file holds: rows and last-seen times the database did not take. */
interface Spool {
  readonly version: 1;
  readonly rows: StatRow[];
  readonly lastSeen: [string, number][];
}

const ROWS_PER_STATEMENT = 100;
const PRUNE_EVERY_MS = 60 * MINUTE_MS;

/**
 * Per-minute statistics, kept in memory on the share path and written in batches (every
 * --stats.flushInterval and at shutdown), never awaited by a share. Rows are added into, not replaced, so
 * several proxy instances can write to one PostgreSQL. What the database does not take at shutdown is
 * spooled to a file and written at the next start; a crash loses at most one flush interval.
 */
@Injectable()
export class StatsRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(StatsRecorder.name);
  private pending = new Map<string, StatRow>();
  private lastSeen = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.readSpool();
    this.timers.push(setInterval(() => void this.flush(), this.config.stats.flushIntervalMs).unref());
    this.timers.push(setInterval(() => void this.prune(), PRUNE_EVERY_MS).unref());
    void this.prune();
    if (this.pending.size > 0 || this.lastSeen.size > 0) void this.flush();
  }

  /** A last flush; what the database does not take goes to the spool file, for the next start. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    if (this.pending.size > 0 || this.lastSeen.size > 0) this.writeSpool();
  }

  /** Statistics a previous run could not write: taken back into memory (and written at the first flush). */
  private readSpool(): void {
    const path = this.config.stats.spoolPath;
    if (!existsSync(path)) return;
    try {
      const spooled = JSON.parse(readFileSync(path, 'utf8')) as Spool;
      if (spooled.version !== 1 || !Array.isArray(spooled.rows) || !Array.isArray(spooled.lastSeen))
        throw new Error('not a statistics spool');
      for (const row of spooled.rows) this.merge(row);
      for (const [name, at] of spooled.lastSeen) if ((this.lastSeen.get(name) ?? 0) < at) this.lastSeen.set(name, at);
      unlinkSync(path);
      this.logger.log(`read ${spooled.rows.length} statistics rows spooled at the last shutdown from ${path}: writing them now`);
    } catch (error) {
      // Kept for the operator to look at: never overwritten by a later spool.
      const kept = `${path}.unreadable-${Date.now()}`;
      renameSync(path, kept);
      this.logger.error(`statistics spool ${path} is unreadable (${(error as Error).message}): moved to ${kept}`);
    }
  }

  private writeSpool(): void {
    const path = this.config.stats.spoolPath;
    const spool: Spool = { version: 1, rows: [...this.pending.values()], lastSeen: [...this.lastSeen] };
    try {
      const temporary = `${path}.tmp`;
      writeFileSync(temporary, JSON.stringify(spool), { mode: 0o600 });
      renameSync(temporary, path);
      this.logger.warn(
        `the database did not take ${spool.rows.length} statistics rows at shutdown: kept in ${path}, written at the next start`,
      );
    } catch (error) {
      this.logger.error(
        `${spool.rows.length} statistics rows are lost: neither the database nor ${path} took them (${(error as Error).message})`,
      );
    }
  }

  record(
    userName: string,
    worker: string,
    kind: 'sent' | 'accepted' | 'rejected',
    difficultyOne: number,
    now: number,
    slot?: StatsSlot,
  ): void {
    const minute = now - (now % MINUTE_MS);
    let row = slot?.row;
    if (!row || slot!.pending !== this.pending || row.minute !== minute || row.userName !== userName || row.worker !== worker) {
      const key = `${userName}\u0000${worker}\u0000${minute}`;
      row = this.pending.get(key);
      if (!row) {
        row = { userName, worker, minute, sent: 0, accepted: 0, rejected: 0, oneSent: 0, oneAccepted: 0, oneRejected: 0 };
        this.pending.set(key, row);
      }
      if (slot) {
        slot.row = row;
        slot.pending = this.pending;
      }
    }
    if (kind === 'sent') {
      row.sent++;
      row.oneSent += difficultyOne;
    } else if (kind === 'accepted') {
      row.accepted++;
      row.oneAccepted += difficultyOne;
    } else {
      row.rejected++;
      row.oneRejected += difficultyOne;
    }
    this.lastSeen.set(userName, now);
  }

  /** Writes what accumulated; one flush at a time (SQLite has one connection). Failed rows are kept. */
  flush(): Promise<void> {
    this.chain = this.chain.then(() => this.writePending());
    return this.chain;
  }

  /** Rows of a user's statistics (every user's with null) in [from, to), from the database plus what is not flushed yet. */
  async rows(userName: string | null, from: number, to: number): Promise<StatRow[]> {
    const stored = await this.dataSource
      .createQueryBuilder()
      .select([
        's.user_name AS "userName"',
        's.worker AS "worker"',
        's.minute AS "minute"',
        's.sent AS "sent"',
        's.accepted AS "accepted"',
        's.rejected AS "rejected"',
        's.one_sent AS "oneSent"',
        's.one_accepted AS "oneAccepted"',
        's.one_rejected AS "oneRejected"',
      ])
      .from('worker_stats', 's')
      .where(
        userName === null ? 's.minute >= :from AND s.minute < :to' : 's.user_name = :userName AND s.minute >= :from AND s.minute < :to',
        {
          userName,
          from,
          to,
        },
      )
      .getRawMany<Record<keyof StatRow, string | number>>();
    const rows: StatRow[] = stored.map((row) => ({
      userName: String(row.userName),
      worker: String(row.worker),
      minute: Number(row.minute),
      sent: Number(row.sent),
      accepted: Number(row.accepted),
      rejected: Number(row.rejected),
      oneSent: Number(row.oneSent),
      oneAccepted: Number(row.oneAccepted),
      oneRejected: Number(row.oneRejected),
    }));
    for (const row of this.pending.values())
      if ((userName === null || row.userName === userName) && row.minute >= from && row.minute < to) rows.push({ ...row });
    return rows;
  }

  /** Deletes statistics older than --stats.retention. */
  async prune(now = Date.now()): Promise<void> {
    const cutoff = now - this.config.stats.retentionMs;
    try {
      await this.dataSource.createQueryBuilder().delete().from('worker_stats').where('minute < :cutoff', { cutoff }).execute();
    } catch (error) {
      this.logger.warn(`pruning statistics failed: ${(error as Error).message}`);
    }
  }

  /**
   * Each statement commits on its own: an upsert adds into stored rows, so a statement that failed is
   * retried alone at the next flush and one that succeeded is never written twice.
   */
  private async writePending(): Promise<void> {
    if (this.pending.size === 0 && this.lastSeen.size === 0) return;
    const rows = [...this.pending.values()];
    const seen = [...this.lastSeen];
    this.pending = new Map();
    this.lastSeen = new Map();
    const startedAt = performance.now();
    let failedRows = 0;
    let lastError: unknown = null;
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
      try {
        await this.dataSource.query(...this.upsert(chunk));
      } catch (error) {
        for (const row of chunk) this.merge(row);
        failedRows += chunk.length;
        lastError = error;
      }
      // better-sqlite3 answers synchronously: let the sockets in between statements, so that a flush of
      // thousands of workers never holds up shares.
      await nextTurn();
    }
    for (const [name, at] of seen) {
      try {
        await this.dataSource.query(
          ...this.dataSource.driver.escapeQueryWithParameters(
            'UPDATE "users" SET "last_seen_at" = :at WHERE "name" = :name AND ("last_seen_at" IS NULL OR "last_seen_at" < :at)',
            { at, name },
          ),
        );
      } catch (error) {
        if ((this.lastSeen.get(name) ?? 0) < at) this.lastSeen.set(name, at);
        lastError = error;
      }
    }
    if (lastError !== null) {
      // Nothing is lost: what failed went back and is retried at the next flush.
      this.logger.warn(`writing ${failedRows} of ${rows.length} statistics rows failed, will retry: ${(lastError as Error).message}`);
    } else {
      this.logger.debug(`wrote ${rows.length} statistics rows in ${Math.round(performance.now() - startedAt)} ms`);
    }
  }

  private merge(row: StatRow): void {
    const key = `${row.userName}\u0000${row.worker}\u0000${row.minute}`;
    const existing = this.pending.get(key);
    if (!existing) {
      this.pending.set(key, row);
      return;
    }
    existing.sent += row.sent;
    existing.accepted += row.accepted;
    existing.rejected += row.rejected;
    existing.oneSent += row.oneSent;
    existing.oneAccepted += row.oneAccepted;
    existing.oneRejected += row.oneRejected;
  }

  /** One INSERT ... ON CONFLICT DO UPDATE adding into existing rows; the same SQL on SQLite and PostgreSQL. */
  private upsert(rows: StatRow[]): [string, unknown[]] {
    const parameters: Record<string, unknown> = {};
    const values = rows.map((row, i) => {
      const names = ['userName', 'worker', 'minute', 'sent', 'accepted', 'rejected', 'oneSent', 'oneAccepted', 'oneRejected'] as const;
      for (const name of names) parameters[`${name}${i}`] = row[name];
      return `(${names.map((name) => `:${name}${i}`).join(', ')})`;
    });
    const add = (column: string) => `"${column}" = "worker_stats"."${column}" + excluded."${column}"`;
    const sql =
      'INSERT INTO "worker_stats" ("user_name", "worker", "minute", "sent", "accepted", "rejected", "one_sent", "one_accepted", "one_rejected") ' +
      `VALUES ${values.join(', ')} ON CONFLICT ("user_name", "worker", "minute") DO UPDATE SET ` +
      ['sent', 'accepted', 'rejected', 'one_sent', 'one_accepted', 'one_rejected'].map(add).join(', ');
    return this.dataSource.driver.escapeQueryWithParameters(sql, parameters) as [string, unknown[]];
  }
}
