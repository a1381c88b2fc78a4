// A simulated Stratum pool (tests and the local demo): it hands out its own extranonce1 and extranonce2 size, and checks
// every share with real sha256d against them and its difficulty, so a broken translation fails a test.
import { randomBytes } from 'node:crypto';
import { createServer, Server, Socket } from 'node:net';
import { listenBelowEphemeralRange } from './listen-port.js';
import { difficultyToTarget } from '../protocol/difficulty.js';
import { LineSplitter } from '../protocol/line-splitter.js';
import { buildHeader, hashValue } from '../protocol/share-hash.js';
import { DIVIDER, powHash, SimAlgorithm } from './pow.js';

export interface SimPoolOptions {
  extranonce1Size?: number;
  extranonce2Size?: number;
  difficulty?: number;
  /** Accepted accounts (user -> password); undefined accepts any account. */
  accounts?: Record<string, string>;
  /** Version-rolling mask granted to a configure request; null: configure is answered as unknown. */
  versionMask?: number | null;
  /** Never answer mining.submit (to test the proxy's submit timeout). */
  silentSubmits?: boolean;
  /** Answer shares this long after they arrive (a slow pool). */
  submitDelayMs?: number;
  /** The proof of work shares are checked with (default sha256); scrypt targets use difficulty / 65536. */
  algorithm?: SimAlgorithm;
  /** Keep only the newest this many jobs per connection (as real pools do): older ones are `job not found`. */
  keepJobs?: number;
  /** Reject an ntime before the job's or more than 7000 s past the pool's clock as `invalid ntime` (ckpool's rule). */
  checkNtime?: boolean;
  /**
   * Further authorizations on a connection (`account.worker`): `accept` adds the worker (its shares are
   * taken under its name as well as the first's), `refuse` answers false, `error` answers error 24.
   * Unset: a later authorize replaces the connection's user (the default, as before).
   */
  workers?: 'accept' | 'refuse' | 'error';
}

/** ckpool's margin for an ntime ahead of its clock ("time too new"). */
const SIM_NTIME_AHEAD_SECONDS = 7000;

export interface SimJob {
  id: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  difficulty: number;
}

export interface ReceivedShare {
  user: string;
  jobId: string;
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  verdict: 'accepted' | 'rejected';
  code?: number;
  reason?: string;
}

/** One proxy connection as the pool sees it. */
export class PoolPeer {
  extranonce1: string;
  extranonce2Size: number;
  user: string | null = null;
  /** Workers authorized after the first (the `workers` option). */
  readonly workers = new Set<string>();
  versionMask: number | null = null;
  readonly jobs = new Map<string, SimJob>();
  readonly seen = new Set<string>();
  readonly received: unknown[] = [];

  constructor(
    readonly socket: Socket,
    readonly pool: SimPool,
  ) {
    this.extranonce1 = randomBytes(pool.options.extranonce1Size).toString('hex');
    this.extranonce2Size = pool.options.extranonce2Size;
  }

  send(message: object): void {
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  notify(method: string, params: unknown[]): void {
    this.send({ id: null, method, params });
  }

  sendJob(job: SimJob, clean: boolean): void {
    this.jobs.set(job.id, job);
    if (clean) for (const id of this.jobs.keys()) if (id !== job.id) this.jobs.delete(id);
    const keep = this.pool.options.keepJobs;
    if (keep !== undefined) while (this.jobs.size > keep) this.jobs.delete(this.jobs.keys().next().value as string);
    this.notify('mining.notify', [
      job.id,
      job.prevhash,
      job.coinb1,
      job.coinb2,
      job.merkleBranch,
      job.version,
      job.nbits,
      job.ntime,
      clean,
    ]);
  }
}

export class SimPool {
  readonly options: Required<
    Omit<SimPoolOptions, 'accounts' | 'versionMask' | 'silentSubmits' | 'submitDelayMs' | 'keepJobs' | 'checkNtime' | 'workers'>
  > &
    Pick<SimPoolOptions, 'accounts' | 'versionMask' | 'silentSubmits' | 'submitDelayMs' | 'keepJobs' | 'checkNtime' | 'workers'>;
  readonly peers = new Set<PoolPeer>();
  readonly shares: ReceivedShare[] = [];
  readonly methods: string[] = [];
  /** Every mining.authorize's user, and every mining.subscribe's user agent, in order of arrival. */
  readonly authorizations: string[] = [];
  readonly userAgents: string[] = [];
  private server: Server | null = null;
  private jobCounter = 0;
  private difficulty: number;
  private currentJob: SimJob | null = null;
  port = 0;
  connectionsAccepted = 0;

  constructor(options: SimPoolOptions = {}) {
    this.options = {
      extranonce1Size: options.extranonce1Size ?? 4,
      extranonce2Size: options.extranonce2Size ?? 8,
      // 2^-20: about 4096 hashes a share, while a wrongly built share still passes only once in 4096.
      difficulty: options.difficulty ?? 2 ** -20,
      accounts: options.accounts,
      versionMask: options.versionMask === undefined ? 0x1fffe000 : options.versionMask,
      silentSubmits: options.silentSubmits,
      submitDelayMs: options.submitDelayMs,
      algorithm: options.algorithm ?? 'sha256',
      keepJobs: options.keepJobs,
      checkNtime: options.checkNtime,
      workers: options.workers,
    };
    this.difficulty = this.options.difficulty;
  }

  get accepted(): ReceivedShare[] {
    return this.shares.filter((share) => share.verdict === 'accepted');
  }

  get rejected(): ReceivedShare[] {
    return this.shares.filter((share) => share.verdict === 'rejected');
  }

  /** Listens on the given port, or (the first time) on a free one where a restart finds it free again. */
  async start(port = this.port): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    if (port === 0) this.port = await listenBelowEphemeralRange(server);
    else
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    this.server = server;
  }

  /** Stops listening and drops every connection (the pool "goes away"). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.dropAll();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  dropAll(): void {
    for (const peer of this.peers) peer.socket.destroy();
    this.peers.clear();
  }

  /** A new job for every authorized connection. */
  newJob(clean = true): SimJob {
    const job = this.prepareJob();
    for (const peer of this.peers) if (peer.user) peer.sendJob(job, clean);
    return job;
  }

  /** A new job every authorized connection would accept shares for, not sent: a test writes the lines itself. */
  prepareJob(): SimJob {
    const job: SimJob = {
      id: (++this.jobCounter).toString(16),
      prevhash: randomBytes(32).toString('hex'),
      coinb1: `01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff20${randomBytes(8).toString('hex')}`,
      coinb2: `${randomBytes(12).toString('hex')}ffffffff0100f2052a010000001976a914${randomBytes(20).toString('hex')}88ac00000000`,
      merkleBranch: [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')],
      version: '20000000',
      nbits: '1d00ffff',
      ntime: Math.floor(Date.now() / 1000)
        .toString(16)
        .padStart(8, '0'),
      difficulty: this.difficulty,
    };
    this.currentJob = job;
    for (const peer of this.peers) if (peer.user) peer.jobs.set(job.id, job);
    return job;
  }

  setDifficulty(difficulty: number): void {
    this.difficulty = difficulty;
    for (const peer of this.peers) if (peer.user) peer.notify('mining.set_difficulty', [difficulty]);
  }

  /** mining.set_extranonce to every connection, then a new clean job. */
  setExtranonce(extranonce2Size?: number): void {
    for (const peer of this.peers) {
      peer.extranonce1 = randomBytes(this.options.extranonce1Size).toString('hex');
      if (extranonce2Size !== undefined) peer.extranonce2Size = extranonce2Size;
      peer.notify('mining.set_extranonce', [peer.extranonce1, peer.extranonce2Size]);
    }
    this.newJob(true);
  }

  setVersionMask(mask: number): void {
    this.options.versionMask = mask;
    for (const peer of this.peers) {
      peer.versionMask = mask;
      peer.notify('mining.set_version_mask', [mask.toString(16).padStart(8, '0')]);
    }
  }

  private accept(socket: Socket): void {
    this.connectionsAccepted++;
    const peer = new PoolPeer(socket, this);
    this.peers.add(peer);
    const splitter = new LineSplitter(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      for (const line of splitter.push(chunk)) this.handle(peer, JSON.parse(line) as { id: unknown; method: string; params: unknown[] });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.peers.delete(peer));
  }

  private handle(peer: PoolPeer, message: { id: unknown; method: string; params: unknown[] }): void {
    peer.received.push(message);
    this.methods.push(message.method);
    const reply = (result: unknown, error: unknown = null) => peer.send({ id: message.id, result, error });
    switch (message.method) {
      case 'mining.configure': {
        const granted = this.options.versionMask;
        if (granted === null || granted === undefined) return reply(null, [20, 'unknown method', null]);
        const requested = Number.parseInt(String((message.params[1] as Record<string, string>)['version-rolling.mask'] ?? 'ffffffff'), 16);
        peer.versionMask = (requested & granted) >>> 0;
        return reply({ 'version-rolling': true, 'version-rolling.mask': peer.versionMask.toString(16).padStart(8, '0') });
      }
      case 'mining.subscribe':
        {
          const agent = message.params?.[0];
          this.userAgents.push(typeof agent === 'string' ? agent : '');
        }
        return reply([
          [
            ['mining.set_difficulty', 'd1'],
            ['mining.notify', 'n1'],
          ],
          peer.extranonce1,
          peer.extranonce2Size,
        ]);
      case 'mining.authorize': {
        const [user, password] = message.params as [string, string];
        this.authorizations.push(user);
        const workers = this.options.workers;
        if (workers && peer.user !== null && user !== peer.user) {
          if (workers === 'refuse') return reply(false);
          if (workers === 'error') return reply(null, [24, 'unknown worker', null]);
          peer.workers.add(user);
          return reply(true);
        }
        if (this.options.accounts && this.options.accounts[user] !== password) return reply(false, [24, 'unauthorized worker', null]);
        peer.user = user;
        reply(true);
        peer.notify('mining.set_difficulty', [this.difficulty]);
        peer.sendJob(this.currentJob ?? this.newJob(true), true);
        return;
      }
      case 'mining.submit':
        return this.submit(peer, message.params, reply);
      case 'mining.suggest_difficulty':
        return reply(true);
      default:
        return reply(null, [20, `unknown method ${message.method}`, null]);
    }
  }

  /** Sends a notification to every connection (client.reconnect, client.show_message, ...). */
  broadcast(method: string, params: unknown[]): void {
    for (const peer of this.peers) peer.notify(method, params);
  }

  private submit(peer: PoolPeer, params: unknown[], answer: (result: unknown, error?: unknown) => void): void {
    if (this.options.silentSubmits) return;
    const delay = this.options.submitDelayMs;
    const reply = delay ? (result: unknown, error?: unknown) => setTimeout(() => answer(result, error), delay) : answer;
    const [user, jobId, extranonce2, ntime, nonce, versionBits] = params as string[];
    const record = (verdict: 'accepted' | 'rejected', code?: number, reason?: string) => {
      this.shares.push({ user, jobId, extranonce1: peer.extranonce1, extranonce2, ntime, nonce, verdict, code, reason });
      if (verdict === 'accepted') reply(true);
      else reply(false, [code, reason, null]);
    };
    if (user !== peer.user && !peer.workers.has(user)) return record('rejected', 24, 'unauthorized worker');
    const job = peer.jobs.get(jobId);
    if (!job) return record('rejected', 21, 'job not found');
    if (typeof extranonce2 !== 'string' || extranonce2.length !== peer.extranonce2Size * 2)
      return record('rejected', 20, 'invalid extranonce2 size');
    const key = `${jobId}:${extranonce2}:${ntime}:${nonce}:${versionBits ?? ''}`.toLowerCase();
    if (peer.seen.has(key)) return record('rejected', 22, 'duplicate share');
    peer.seen.add(key);
    if (this.options.checkNtime) {
      const shareTime = Number.parseInt(ntime, 16);
      const latest = Math.floor(Date.now() / 1000) + SIM_NTIME_AHEAD_SECONDS;
      if (!(shareTime >= Number.parseInt(job.ntime, 16) && shareTime <= latest)) return record('rejected', 20, 'invalid ntime');
    }
    let versionMask: number | undefined;
    if (versionBits !== undefined) {
      versionMask = peer.versionMask ?? 0;
      if ((Number.parseInt(versionBits, 16) & ~versionMask) >>> 0 !== 0) return record('rejected', 20, 'invalid version bits');
    }
    const header = buildHeader(
      { ...job, merkleBranch: job.merkleBranch },
      { extranonce1: peer.extranonce1, extranonce2, ntime, nonce, versionBits, versionMask },
    );
    const algorithm = this.options.algorithm;
    if (hashValue(powHash(algorithm, header)) > difficultyToTarget(job.difficulty / DIVIDER[algorithm]))
      return record('rejected', 23, 'low difficulty share');
    record('accepted');
  }
}
