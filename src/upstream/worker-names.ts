export type { WorkerNames } from '../pools/pool.entity.js';

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
