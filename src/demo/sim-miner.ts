// A simulated miner for e2e tests: speaks Stratum to the proxy and really hashes (sha256d) at the tiny
// difficulty the simulated pool sets, so only shares built with the right extranonce and byte order pass.
import { connect, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { difficultyToTarget } from '../protocol/difficulty.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import { buildHeader, hashMeetsTarget, rolledVersion, targetBytes } from '../protocol/share-hash.js';
import { DIVIDER, powHash, SimAlgorithm } from './pow.js';

export interface MinerJob {
  id: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  clean: boolean;
  /** The difficulty that applies to this job: the last set_difficulty before it arrived. */
  difficulty: number;
}

export interface Response {
  id: unknown;
  result: unknown;
  error: unknown;
}

export interface FoundShare {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string;
}

export interface SimMinerOptions {
  login: string;
  agent?: string;
  /** Ask for version rolling with this mask (mining.configure). */
  versionRollingMask?: string;
  /** Send mining.extranonce.subscribe. */
  extranonceSubscribe?: boolean;
  /** The proof of work to mine (default sha256). */
  algorithm?: SimAlgorithm;
  /** Send mining.suggest_difficulty first, before subscribe (as some firmware does). */
  suggestDifficulty?: number;
  /** Subscribe with no parameters at all (no user agent, no session to resume), as the plainest firmware does. */
  bareSubscribe?: boolean;
  /** Connect over TLS (stratum+ssl), trusting this CA. */
  tls?: { ca: string | Buffer; servername?: string };
}

export class SimMiner {
  socket: Socket | null = null;
  sessionId: string | null = null;
  extranonce1 = '';
  extranonce2Size = 0;
  versionMask: number | null = null;
  difficulty = 1;
  job: MinerJob | null = null;
  closed: Promise<void> = Promise.resolve();
  isClosed = true;
  readonly notifications: { method: string; params: unknown[] }[] = [];
  readonly accepted: string[] = [];
  readonly rejected: { code: number; message: string }[] = [];
  private nextId = 1;
  private extranonce2Counter = 0;
  private readonly waiting = new Map<unknown, (response: Response) => void>();
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly port: number,
    readonly options: SimMinerOptions,
  ) {}

  /** Opens the TCP (or TLS) connection only. */
  async open(): Promise<void> {
    const secure = this.options.tls;
    const socket = secure
      ? tlsConnect({ host: '127.0.0.1', port: this.port, ca: secure.ca, servername: secure.servername ?? 'localhost' })
      : connect(this.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => undefined);
    this.socket = socket;
    this.isClosed = false;
    const splitter = new LineSplitter(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) this.handle(JSON.parse(line) as Record<string, unknown>);
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        for (const [, resolveWaiting] of this.waiting) resolveWaiting({ id: null, result: null, error: 'closed' });
        this.waiting.clear();
        this.wake();
        resolve();
      }),
    );
  }

  /** Connects (resuming its session when it has one), negotiates, subscribes and authorizes. */
  async start(): Promise<Response> {
    await this.open();
    if (this.options.suggestDifficulty !== undefined) await this.request('mining.suggest_difficulty', [this.options.suggestDifficulty]);
    if (this.options.versionRollingMask) {
      const configured = await this.request('mining.configure', [
        ['version-rolling'],
        { 'version-rolling.mask': this.options.versionRollingMask },
      ]);
      const result = configured.result as Record<string, unknown>;
      this.versionMask = result['version-rolling'] ? Number.parseInt(String(result['version-rolling.mask']), 16) : null;
    }
    const agent = this.options.agent ?? 'sim-miner/1.0';
    const subscribed = await this.request(
      'mining.subscribe',
      this.options.bareSubscribe ? [] : this.sessionId ? [agent, this.sessionId] : [agent],
    );
    if (subscribed.error) throw new Error(`subscribe failed: ${JSON.stringify(subscribed.error)}`);
    const [subscriptions, extranonce1, extranonce2Size] = subscribed.result as [[string, string][], string, number];
    this.sessionId = subscriptions[0][1];
    this.extranonce1 = extranonce1;
    this.extranonce2Size = extranonce2Size;
    if (this.options.extranonceSubscribe) await this.request('mining.extranonce.subscribe', []);
    return this.request('mining.authorize', [this.options.login, 'x']);
  }

  send(line: string): void {
    this.socket?.write(line);
  }

  request(method: string, params: unknown[]): Promise<Response> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.send(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  /** Resolves when the condition holds (checked on every message), or rejects after timeoutMs. */
  waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
    });
  }

  waitForJob(timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.job !== null, 'a job', timeoutMs);
  }

  /** Finds a share for the current job by hashing, without submitting it. */
  findShare(options: { versionBits?: string } = {}): FoundShare {
    return this.search(true, options.versionBits);
  }

  /** A share whose hash misses the job's target (the pool must reject it as low difficulty). */
  findLowShare(): FoundShare {
    return this.search(false);
  }

  /** Tries nonces on a fresh extranonce2 until the hash meets (or misses) the job's target. */
  private search(meets: boolean, versionBits?: string): FoundShare {
    const job = this.job;
    if (!job) throw new Error('no job');
    const extranonce2 = (this.extranonce2Counter++)
      .toString(16)
      .padStart(this.extranonce2Size * 2, '0')
      .slice(-this.extranonce2Size * 2);
    const versionMask = versionBits !== undefined ? (this.versionMask ?? 0) : undefined;
    const header = buildHeader(job, {
      extranonce1: this.extranonce1,
      extranonce2,
      ntime: job.ntime,
      nonce: '00000000',
      versionBits,
      versionMask,
    });
    const algorithm = this.options.algorithm ?? 'sha256';
    const target = targetBytes(difficultyToTarget(job.difficulty / DIVIDER[algorithm]));
    for (let nonce = 0; nonce < 0xffffffff; nonce++) {
      header.writeUInt32LE(nonce, 76);
      const hash = powHash(algorithm, header);
      if (hashMeetsTarget(hash, target) === meets) {
        const found: FoundShare = { jobId: job.id, extranonce2, ntime: job.ntime, nonce: nonce.toString(16).padStart(8, '0') };
        return versionBits ? { ...found, versionBits } : found;
      }
    }
    throw new Error('nonce space exhausted');
  }

  /** Hashes and submits one share for the current job; returns the proxy's answer. */
  async mineOne(options: { versionBits?: string } = {}): Promise<Response> {
    const share = this.findShare(options);
    const params = [this.options.login, share.jobId, share.extranonce2, share.ntime, share.nonce];
    if (share.versionBits) params.push(share.versionBits);
    const response = await this.request('mining.submit', params);
    if (response.result === true) this.accepted.push(share.jobId);
    else {
      const error = response.error as [number, string] | null;
      this.rejected.push({ code: error?.[0] ?? -1, message: String(error?.[1] ?? response.error) });
    }
    return response;
  }

  async mine(count: number, options: { versionBits?: string } = {}): Promise<void> {
    for (let i = 0; i < count; i++) await this.mineOne(options);
  }

  /**
   * Hashes at a steady `hashesPerSecond` for `durationMs` on whatever job is current, at the difficulty that
   * came with it (as real miners do), submitting every share found without waiting for answers. Returns the
   * hashes done over time, so a test can compare a measured hashrate with the real one.
   */
  async hashAt(hashesPerSecond: number, durationMs: number): Promise<{ samples: { at: number; hashes: number }[]; answers: Response[] }> {
    const started = Date.now();
    const samples = [{ at: started, hashes: 0 }];
    const pending: Promise<Response>[] = [];
    let hashes = 0;
    let header: Buffer | null = null;
    let target: Buffer | null = null;
    let work: { job: MinerJob; extranonce1: string; extranonce2: string } | null = null;
    let nonce = 0;
    while (Date.now() - started < durationMs && !this.isClosed) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const due = Math.floor(((Date.now() - started) * hashesPerSecond) / 1000) - hashes;
      for (let i = 0; i < due; i++, hashes++) {
        const job = this.job;
        if (!job) break;
        if (!work || work.job !== job || work.extranonce1 !== this.extranonce1 || nonce > 0xffffffff) {
          const extranonce2 = (this.extranonce2Counter++)
            .toString(16)
            .padStart(this.extranonce2Size * 2, '0')
            .slice(-this.extranonce2Size * 2);
          work = { job, extranonce1: this.extranonce1, extranonce2 };
          header = buildHeader(job, { extranonce1: this.extranonce1, extranonce2, ntime: job.ntime, nonce: '00000000' });
          target = targetBytes(difficultyToTarget(job.difficulty / DIVIDER[this.options.algorithm ?? 'sha256']));
          nonce = 0;
        }
        header!.writeUInt32LE(nonce, 76);
        if (hashMeetsTarget(powHash(this.options.algorithm ?? 'sha256', header!), target!)) {
          const found = nonce.toString(16).padStart(8, '0');
          pending.push(this.request('mining.submit', [this.options.login, job.id, work.extranonce2, job.ntime, found]));
        }
        nonce++;
      }
      samples.push({ at: Date.now(), hashes });
    }
    return { samples, answers: await Promise.all(pending) };
  }

  close(): Promise<void> {
    this.socket?.destroy();
    return this.closed;
  }

  /** The version the header would carry for these bits (for assertions). */
  rolled(bits: string): string {
    return rolledVersion(this.job?.version ?? '20000000', bits, this.versionMask ?? 0);
  }

  private handle(message: Record<string, unknown>): void {
    if (typeof message.method === 'string') {
      const params = (message.params ?? []) as unknown[];
      this.notifications.push({ method: message.method, params });
      switch (message.method) {
        case 'mining.set_difficulty':
          this.difficulty = Number(params[0]);
          break;
        case 'mining.notify': {
          const [id, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, clean] = params as [
            string,
            string,
            string,
            string,
            string[],
            string,
            string,
            string,
            boolean,
          ];
          this.job = { id, prevhash, coinb1, coinb2, merkleBranch, version, nbits, ntime, clean, difficulty: this.difficulty };
          break;
        }
        case 'mining.set_extranonce':
          this.extranonce1 = String(params[0]);
          this.extranonce2Size = Number(params[1]);
          this.job = null; // work under the old extranonce is void
          break;
        case 'mining.set_version_mask':
          this.versionMask = Number.parseInt(String(params[0]), 16);
          break;
      }
    } else {
      const resolve = this.waiting.get(message.id);
      if (resolve) {
        this.waiting.delete(message.id);
        resolve(message as unknown as Response);
      }
    }
    this.wake();
  }

  private wake(): void {
    // A copy: watchers remove themselves while being called.
    for (const watcher of Array.from(this.watchers)) watcher();
  }
}
