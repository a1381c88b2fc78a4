import type { PoolProtocol, WorkerNames } from '../pools/pool.entity.js';

export type { WorkerNames };

/** Worker names one channel authorizes at most: as many as it seats miners by default; more rigs mine as the account. */
export const MAX_WORKERS_PER_CHANNEL = 256;
/** The longest rig part of a worker name: pools commonly cap worker names at 32 to 64 characters. */
export const MAX_WORKER_LABEL = 32;

/**
 * The rig part of a worker name, or null when nothing usable is left: letters, digits, `_` and `-` (what
 * f2pool, ViaBTC, Antpool and ckpool all accept), anything else replaced by `_`, cut to MAX_WORKER_LABEL.
 */
export function workerLabel(rig: string | null): string | null {
  if (!rig) return null;
  const label = rig.slice(0, MAX_WORKER_LABEL).replace(/[^A-Za-z0-9_-]/g, '_');
  return /[A-Za-z0-9]/.test(label) ? label : null;
}

/**
 * `<account>.<rig>`, the `account.worker` form: an account user that names a worker itself (`acct.farm1`)
 * has that part replaced (`acct.rig12`), since pools take the part before the first dot as the account.
 */
export function workerName(accountUser: string, label: string): string {
  const dot = accountUser.indexOf('.');
  return `${dot === -1 ? accountUser : accountUser.slice(0, dot)}.${label}`;
}

/** One worker name on a channel's connection and what the pool said of it. */
export interface ChannelWorker {
  readonly label: string;
  /** The full name on the current connection; null until the channel is on a connection that takes rigs. */
  name: string | null;
  /** Authorized on the current connection: shares go under `name`; otherwise under the account. */
  authorized: boolean;
  members: number;
}

/**
 * The rigs of one channel and their worker names: which member mines under which, bounded, and which the
 * pool refused (those mine as the account from then on, per account of the channel). No sockets here: the
 * channel asks, and tells what the pool answered.
 */
export class ChannelWorkers<Member> {
  private readonly byLabel = new Map<string, ChannelWorker>();
  private readonly ofMember = new Map<Member, ChannelWorker>();
  /** `${account index}:${label}` refused by that account's pool. */
  private readonly refused = new Set<string>();

  constructor(private readonly limit = MAX_WORKERS_PER_CHANNEL) {}

  get size(): number {
    return this.byLabel.size;
  }

  /** The member's worker; `created` when it is the first member of its rig (the pool has yet to hear of it). Null: no rig, or over the bound. */
  join(member: Member, rig: string | null): { worker: ChannelWorker; created: boolean } | null {
    this.leave(member);
    const label = workerLabel(rig);
    if (label === null) return null;
    let worker = this.byLabel.get(label);
    const created = !worker;
    if (!worker) {
      if (this.byLabel.size >= this.limit) return null;
      worker = { label, name: null, authorized: false, members: 0 };
      this.byLabel.set(label, worker);
    }
    worker.members++;
    this.ofMember.set(member, worker);
    return { worker, created };
  }

  leave(member: Member): void {
    const worker = this.ofMember.get(member);
    if (!worker) return;
    this.ofMember.delete(member);
    if (--worker.members === 0) this.byLabel.delete(worker.label);
  }

  /** The worker name the member's shares go under now: undefined for the account's. */
  nameOf(member: Member): string | undefined {
    const worker = this.ofMember.get(member);
    return worker?.authorized ? (worker.name ?? undefined) : undefined;
  }

  /** A new connection: nothing is authorized on it yet. */
  reset(): void {
    for (const worker of this.byLabel.values()) {
      worker.name = null;
      worker.authorized = false;
    }
  }

  /** The workers still on the channel. */
  all(): IterableIterator<ChannelWorker> {
    return this.byLabel.values();
  }

  isRefused(account: number, label: string): boolean {
    return this.refused.has(`${account}:${label}`);
  }

  /** The account's pool refused the worker: its rig mines as the account on that account from now on. */
  refuse(account: number, label: string): void {
    // Bounded like the rigs: past it a refused rig is only asked again when it next joins.
    if (this.refused.size < 16 * this.limit) this.refused.add(`${account}:${label}`);
  }
}

/** What decides a pool's worker names: its protocol and its `workerNames` setting. */
export interface WorkerNamesPool {
  readonly protocol: PoolProtocol;
  readonly workerNames: WorkerNames;
}

/**
 * An SV2 pool with `rig` worker names: SV2 has one `user_identity` per channel and no worker name per share,
 * so each rig mines on a channel of its own, opened as `<account>.<rig>` (an SV1 pool authorizes the rigs
 * on the shared connection instead).
 */
export const rigOwnsChannel = (pool: WorkerNamesPool): boolean => pool.protocol === 'sv2' && pool.workerNames === 'rig';

/** The user a channel of the account opens with for the rig (its label, or null for none): `<account>.<rig>` where the rig owns the channel. */
export function channelUser(pool: WorkerNamesPool, accountUser: string, label: string | null): string {
  return label !== null && rigOwnsChannel(pool) ? workerName(accountUser, label) : accountUser;
}

/**
 * The rigs of each name that have a channel of their own (SV2 pools with `rig` worker names), bounded per
 * name: a rig label is the miner's choice, and each such channel is a connection to the pool. Past the
 * bound a rig mines on the account's channel under the account name, as a refused worker does on SV1.
 */
export class RigChannelSlots<Session> {
  private readonly byName = new Map<string, Map<string, number>>();
  private readonly held = new Map<Session, { name: string; label: string }>();

  constructor(private readonly limit = MAX_WORKERS_PER_CHANNEL) {}

  /** The session's rig gets (or keeps) a channel of its own: its label, or null past the bound. Gives up what it held before. */
  take(session: Session, name: string, label: string): string | null {
    const previous = this.held.get(session);
    if (previous?.name === name && previous.label === label) return label;
    this.release(session);
    let labels = this.byName.get(name);
    if (!labels) this.byName.set(name, (labels = new Map()));
    const members = labels.get(label);
    if (members === undefined && labels.size >= this.limit) return null;
    labels.set(label, (members ?? 0) + 1);
    this.held.set(session, { name, label });
    return label;
  }

  release(session: Session): void {
    const held = this.held.get(session);
    if (!held) return;
    this.held.delete(session);
    const labels = this.byName.get(held.name)!;
    const members = labels.get(held.label)! - 1;
    if (members > 0) labels.set(held.label, members);
    else labels.delete(held.label);
    if (labels.size === 0) this.byName.delete(held.name);
  }

  /** Rigs of the name with a channel of their own. */
  count(name: string): number {
    return this.byName.get(name)?.size ?? 0;
  }
}
