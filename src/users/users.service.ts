import { ConflictException, Inject, Injectable, Logger, NotFoundException, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { secretBox } from '../database/secrets.js';
import { isUniqueViolation } from '../database/constraint-errors.js';
import { PoolChanges } from '../pools/pool-changes.js';
import { PoolsService } from '../pools/pools.service.js';
import { formatPoolAddress, nonPublicReason, parsePoolAddress, type ParsedPoolAddress } from '../pools/public-address.js';
import { authorityKeyProblem } from '../pools/dto.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { UNKNOWN_ALGORITHM } from '../pools/algorithms/share-hashers.js';
import type { Pool } from '../pools/pool.entity.js';
import { UserBackup } from './user-backup.entity.js';
import { UserRoute } from './user-route.entity.js';
import { MAX_BACKUPS, MAX_ROUTES, MAX_WEIGHT } from './register-user.dto.js';
import { User } from './user.entity.js';
import { generateUserName, normalizeUserName } from './user-name.js';

export interface Registration {
  user: User;
  created: boolean;
}

export class UnsupportedPoolError extends Error {}
/** An account the API cannot take: a bad address, a host that is not public, a backup that cannot serve the name. */
export class InvalidAccountError extends Error {}

/** Registrants may not point the proxy at its own machine or private networks (without --pools.allowPrivate). */
async function refuseNonPublic(host: string): Promise<void> {
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  } catch (error) {
    throw new InvalidAccountError(`pool host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'lookup failed'})`);
  }
  for (const address of addresses) {
    const reason = nonPublicReason(address);
    if (reason)
      throw new InvalidAccountError(`pool host ${host}: ${reason}; only public pools can be registered (see --pools.allowPrivate)`);
  }
}

/** A backup account as the API takes it. */
export interface BackupRequest {
  readonly pool: string;
  readonly user: string;
  readonly password?: string;
}

/** One of a name's accounts: the primary (the user itself) or a backup. */
export interface NameAccount {
  readonly pool: Pool;
  readonly accountUser: string;
  readonly accountPassword: string;
}

/** A name's accounts in failover order: the primary, then its backups by position. */
export function accountsOf(user: User): NameAccount[] {
  const backups = [...(user.backups ?? [])].sort((a, b) => a.position - b.position);
  return [user, ...backups];
}

/** A further route as the API takes it (route 0 is the name's own account and backups). */
export interface RouteRequest extends BackupRequest {
  readonly weight: number;
  readonly backups?: readonly BackupRequest[];
}

/** One route of a name: its weight and its accounts in failover order. */
export interface NameRoute {
  readonly weight: number;
  readonly accounts: readonly NameAccount[];
}

/** The weight of a name's only route, and of route 0 when none was given. */
export const DEFAULT_ROUTE_WEIGHT = 100;

/** A name's routes: route 0 (its own account and backups), then routes 1, 2, ... by index. */
export function routesOf(user: User): NameRoute[] {
  const routes: NameRoute[] = [{ weight: user.routeWeight ?? DEFAULT_ROUTE_WEIGHT, accounts: accountsOf(user) }];
  const rows = [...(user.routes ?? [])].sort((a, b) => a.route - b.route || a.position - b.position);
  for (const row of rows) {
    const last = routes.length - 1;
    if (routes.length - 1 < row.route) routes.push({ weight: row.weight, accounts: [row] });
    else (routes[last].accounts as NameAccount[]).push(row);
  }
  return routes;
}

/**
 * The extranonce2 size assumed for a pool the proxy has not connected to yet: 4 bytes is what most large
 * pools give, and the smallest that works with a one-byte prefix and a 3-byte miner extranonce2.
 */
const ASSUMED_POOL_EXTRANONCE2 = 4;

const NAME_ATTEMPTS = 8;
/** How long a resolved name is answered from memory (a user deleted elsewhere may log in that much longer). */
const RESOLVED_TTL_MS = 5000;
const RESOLVED_MAX = 10_000;

@Injectable()
export class UsersService implements OnModuleInit {
  private readonly logger = new Logger(UsersService.name);
  /**
   * Names resolved lately: a farm powering up authorizes thousands of miners of a few names within
   * seconds, and each lookup was a synchronous SQLite query and a User of its own held by every session.
   */
  private readonly resolved = new Map<string, { readonly user: User; readonly at: number }>();
  private readonly accountListeners: ((accounts: readonly NameAccount[]) => void)[] = [];
  private readonly routeListeners: ((user: User) => void)[] = [];
  /** The extranonce2 size new miners are told (see refreshSizing). */
  private minerExtranonce2: number;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly pools: PoolsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    poolChanges: PoolChanges,
  ) {
    poolChanges.subscribe((pool) => {
      for (const [name, { user }] of this.resolved)
        if (accountsOf(user).some((account) => account.pool.id === pool.id)) this.resolved.delete(name);
    });
    this.minerExtranonce2 = this.sizeFor(null);
    pools.onExtranonce2SizeLearned(() => this.refreshSizing());
  }

  onModuleInit(): Promise<void> {
    return this.refreshSizing();
  }

  /**
   * The extranonce2 size a miner is told at subscribe, before its name (so its pool) is known: what fits
   * the smallest pool extranonce2 in use after the proxy's prefix, at most --stratum.extranonce2Size.
   */
  minerExtranonce2Size(): number {
    return this.minerExtranonce2;
  }

  /** Recomputes the miners' extranonce2 size from the pools registered names use (learned sizes; none known: 4). */
  async refreshSizing(): Promise<void> {
    try {
      const rows: { size: number | string | null }[] = await this.users.manager.query(
        'SELECT "extranonce2_size" AS "size" FROM "pools" WHERE "id" IN (SELECT "pool_id" FROM "users" UNION SELECT "pool_id" FROM "user_backups" UNION SELECT "pool_id" FROM "user_routes")',
      );
      // Only sizes learned from a pool count: a pool never reached (a typo, a pool down since registration)
      // must not shrink what the miners of every other name are told. Its own miners are fitted by the
      // channel (set_extranonce or a reconnect) if it turns out smaller, and the size is learned then.
      const sizes = rows.filter((row) => row.size !== null).map((row) => Number(row.size));
      const next = this.sizeFor(sizes.length > 0 ? Math.min(...sizes) : null);
      if (next !== this.minerExtranonce2) this.logger.log(`miners get extranonce2 size ${next} from now on (smallest pool size in use)`);
      this.minerExtranonce2 = next;
    } catch (error) {
      this.logger.warn(`could not size miners' extranonce2 from the pools in use: ${(error as Error).message}`);
    }
  }

  private sizeFor(smallestPoolSize: number | null): number {
    const { extranonce1Size, extranonce2Size } = this.config.stratum;
    const room = (smallestPoolSize ?? ASSUMED_POOL_EXTRANONCE2) - extranonce1Size;
    return Math.max(1, Math.min(extranonce2Size, room));
  }

  /** A registered pool for host:port, or one of unknown algorithm under --pools.allowUnknown. */
  private async poolFor(poolAddress: string): Promise<Pool> {
    const parsed = parsePoolAddress(poolAddress);
    if (!parsed) throw new InvalidAccountError(`pool ${poolAddress} is not "host:port" or "[IPv6]:port"`);
    const { host, port, tls, protocol, authorityPubkey } = parsed;
    if (authorityPubkey !== undefined) {
      const problem = authorityKeyProblem(authorityPubkey);
      if (problem)
        throw new InvalidAccountError(`pool ${poolAddress}: the part after the address must be the pool's SV2 authority key: ${problem}`);
    }
    let pool = await this.pools.findByAddress(host, port);
    if (pool) refuseOtherScheme(pool, { tls, protocol, authorityPubkey });
    if (!pool && this.config.pools.allowUnknown) {
      if (protocol === 'sv2' && authorityPubkey === undefined)
        throw new InvalidAccountError(
          `pool ${poolAddress}: an SV2 pool is registered with its authority key, stratum2+tcp://host:port/<authority key>`,
        );
      if (!this.config.pools.allowPrivate) await refuseNonPublic(host);
      pool = await this.pools.createUnknown(host, port, tls ?? false, authorityPubkey ?? null);
      this.logger.log(`added pool ${pool.address} of unknown algorithm (--pools.allowUnknown): it is detected from the first shares`);
    }
    if (!pool)
      throw new UnsupportedPoolError(
        `pool ${formatPoolAddress(host.toLowerCase(), port)} is not supported: the management API adds it (POST /api/v1/pools), or start the proxy with --pools.allowUnknown`,
      );
    return pool;
  }

  /** Resolves backup accounts: known pools of the primary's algorithm, none the primary itself, none twice. */
  private async backupsFor(primary: NameAccount, requests: readonly BackupRequest[], prefix = ''): Promise<NameAccount[]> {
    if (requests.length > MAX_BACKUPS) throw new InvalidAccountError(`${prefix}at most ${MAX_BACKUPS} backups`);
    const accounts: NameAccount[] = [];
    for (const [i, request] of requests.entries()) {
      const pool = await this.poolFor(request.pool).catch((error: unknown) => {
        // Say which entry was wrong: the same pool text may be fine as a primary elsewhere.
        if (error instanceof UnsupportedPoolError || error instanceof InvalidAccountError)
          error.message = `${prefix}backups[${i}]: ${error.message}`;
        throw error;
      });
      const account = { pool, accountUser: request.user, accountPassword: request.password ?? '' };
      const known = [primary, ...accounts];
      if (known.some((other) => sameAccount(other, account)))
        throw new InvalidAccountError(`${prefix}backups[${i}]: the same account as the primary or an earlier backup`);
      const [mine, theirs] = [primary.pool.algorithm.name, pool.algorithm.name];
      if (mine !== theirs && mine !== UNKNOWN_ALGORITHM && theirs !== UNKNOWN_ALGORITHM)
        throw new InvalidAccountError(
          `${prefix}backups[${i}]: pool ${pool.address} is ${theirs}, the primary ${primary.pool.address} is ${mine}`,
        );
      accounts.push(account);
    }
    return accounts;
  }

  /**
   * Resolves routes 1, 2, ... (each a primary and its backups, of the name's algorithm) and checks the
   * weights: numbers 0..MAX_WEIGHT, at most MAX_ROUTES routes, at least one weight above 0.
   */
  private async routesFor(primary: NameAccount, weight0: number, requests: readonly RouteRequest[]): Promise<NameRoute[]> {
    if (requests.length + 1 > MAX_ROUTES) throw new InvalidAccountError(`routes: at most ${MAX_ROUTES} routes`);
    const weights = [weight0, ...requests.map((request) => request.weight)];
    for (const [i, weight] of weights.entries())
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > MAX_WEIGHT)
        throw new InvalidAccountError(`routes[${i}].weight: must be a number from 0 to ${MAX_WEIGHT}`);
    if (!weights.some((weight) => weight > 0)) throw new InvalidAccountError('routes: at least one route needs a weight above 0');
    const routes: NameRoute[] = [];
    for (const [i, request] of requests.entries()) {
      const prefix = `routes[${i + 1}].`;
      const pool = await this.poolFor(request.pool).catch((error: unknown) => {
        if (error instanceof UnsupportedPoolError || error instanceof InvalidAccountError)
          error.message = `${prefix.slice(0, -1)}: ${error.message}`;
        throw error;
      });
      const [mine, theirs] = [primary.pool.algorithm.name, pool.algorithm.name];
      if (mine !== theirs && mine !== UNKNOWN_ALGORITHM && theirs !== UNKNOWN_ALGORITHM)
        throw new InvalidAccountError(
          `${prefix.slice(0, -1)}: pool ${pool.address} is ${theirs}, route 0's ${primary.pool.address} is ${mine}`,
        );
      const own = { pool, accountUser: request.user, accountPassword: request.password ?? '' };
      const backups = await this.backupsFor(own, request.backups ?? [], prefix);
      routes.push({ weight: request.weight, accounts: [own, ...backups] });
    }
    return routes;
  }

  private async storeRoutes(manager: EntityManager, name: string, routes: readonly NameRoute[]): Promise<UserRoute[]> {
    await manager.delete(UserRoute, { userName: name });
    const rows = routes.flatMap((route, i) =>
      route.accounts.map((account, position) =>
        manager.create(UserRoute, {
          userName: name,
          route: i + 1,
          position,
          weight: route.weight,
          pool: account.pool,
          accountUser: account.accountUser,
          accountPassword: account.accountPassword,
        }),
      ),
    );
    if (rows.length > 0) await manager.insert(UserRoute, rows);
    return rows;
  }

  private async storeBackups(manager: EntityManager, name: string, backups: readonly NameAccount[]): Promise<UserBackup[]> {
    await manager.delete(UserBackup, { userName: name });
    const rows = backups.map((backup, i) =>
      manager.create(UserBackup, {
        userName: name,
        position: i + 1,
        pool: backup.pool,
        accountUser: backup.accountUser,
        accountPassword: backup.accountPassword,
      }),
    );
    if (rows.length > 0) await manager.insert(UserBackup, rows);
    return rows;
  }

  /**
   * Registers credentials for a supported pool, with optional backup accounts; the same credentials always
   * get the same name. Backups of a name already registered are changed only through the management API
   * (anyone who knows a pool login could otherwise point a farm's failover at their own account).
   */
  async register(
    poolAddress: string,
    accountUser: string,
    accountPassword: string,
    backupRequests?: readonly BackupRequest[],
    routing?: { readonly weight: number; readonly routes: readonly RouteRequest[] },
  ): Promise<Registration> {
    const pool = await this.poolFor(poolAddress).catch((error: unknown) => {
      if (routing && (error instanceof UnsupportedPoolError || error instanceof InvalidAccountError))
        error.message = `routes[0]: ${error.message}`;
      throw error;
    });
    const primary = { pool, accountUser, accountPassword };
    const backups = backupRequests ? await this.backupsFor(primary, backupRequests, routing ? 'routes[0].' : '') : [];
    const routes = routing ? await this.routesFor(primary, routing.weight, routing.routes) : [];

    const passwordDigest = secretBox().digest(accountPassword);
    const credentials = { pool: { id: pool.id }, accountUser, passwordDigest };
    const existing = await this.users.findOneBy(credentials);
    if (existing) {
      this.sameBackupsOrConflict(existing, backupRequests ? backups : null);
      return { user: this.sameRoutesOrConflict(existing, routing ? { weight: routing.weight, routes } : null), created: false };
    }

    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = generateUserName();
      if (await this.users.existsBy({ name })) continue;
      const user = this.users.create({
        name,
        pool,
        accountUser,
        accountPassword,
        passwordDigest,
        createdAt: new Date(),
        lastSeenAt: null,
        backups: [],
        routeWeight: routing && routes.length > 0 ? routing.weight : null,
        routes: [],
      });
      try {
        await this.users.manager.transaction(async (manager) => {
          await manager.insert(User, user);
          user.backups = await this.storeBackups(manager, name, backups);
          user.routes = await this.storeRoutes(manager, name, routes);
        });
        const routed = routes.length > 0 ? `, ${routes.length + 1} routes` : '';
        this.logger.log(
          `registered user ${name} for pool ${pool.address}${backups.length ? ` with ${backups.length} backup(s)` : ''}${routed}`,
        );
        this.learnPoolSizes([primary, ...backups, ...routes.flatMap((route) => route.accounts)]);
        void this.refreshSizing();
        return { user, created: true };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Either the name was taken meanwhile or the same credentials were registered concurrently.
        const raced = await this.users.findOneBy(credentials);
        if (raced) return { user: raced, created: false };
      }
    }
    throw new Error(`could not find a free user name after ${NAME_ATTEMPTS} attempts`);
  }

  /** Called with the accounts of every new registration or backup list (the upstream side learns their pools). */
  onAccountsAdded(listener: (accounts: readonly NameAccount[]) => void): void {
    this.accountListeners.push(listener);
  }

  private learnPoolSizes(accounts: readonly NameAccount[]): void {
    for (const listener of this.accountListeners) listener(accounts);
  }

  private sameBackupsOrConflict(existing: User, backups: NameAccount[] | null): User {
    const stored = accountsOf(existing).slice(1);
    if (backups === null || (stored.length === backups.length && stored.every((account, i) => sameAccount(account, backups[i]))))
      return existing;
    throw new ConflictException(
      `these credentials are registered as ${existing.name} with other backups; change them with PUT /api/v1/users/${existing.name}/backups`,
    );
  }

  private sameRoutesOrConflict(existing: User, routing: { weight: number; routes: NameRoute[] } | null): User {
    if (routing === null) return existing;
    const stored = routesOf(existing);
    const wanted =
      routing.routes.length > 0
        ? [{ weight: routing.weight, accounts: [] }, ...routing.routes]
        : [{ weight: DEFAULT_ROUTE_WEIGHT, accounts: [] }];
    const same =
      stored.length === wanted.length &&
      stored.every(
        (route, i) =>
          route.weight === wanted[i].weight &&
          (i === 0 ||
            (route.accounts.length === wanted[i].accounts.length &&
              route.accounts.every((account, j) => sameAccount(account, wanted[i].accounts[j])))),
      );
    if (same) return existing;
    throw new ConflictException(
      `these credentials are registered as ${existing.name} with other routes; change them with PUT /api/v1/users/${existing.name}/routes`,
    );
  }

  /**
   * Replaces a name's routes (management API). Route 0 stays the name's own account (its pool and user
   * identify the name): its weight and backups change; routes 1, 2, ... are replaced. Miners are placed on
   * the new routes at the router's next tick (routing.service.ts), new miners at once.
   */
  async replaceRoutes(
    name: string,
    weight0: number,
    backupRequests: readonly BackupRequest[] | undefined,
    requests: readonly RouteRequest[],
  ): Promise<User> {
    const user = await this.find(name);
    if (!user) throw new NotFoundException(`user ${name} does not exist`);
    const backups = backupRequests ? await this.backupsFor(user, backupRequests, 'routes[0].') : null;
    const routes = await this.routesFor(user, weight0, requests);
    await this.users.manager.transaction(async (manager) => {
      if (backups) user.backups = await this.storeBackups(manager, user.name, backups);
      user.routes = await this.storeRoutes(manager, user.name, routes);
      user.routeWeight = routes.length > 0 ? weight0 : null;
      await manager.update(User, { name: user.name }, { routeWeight: user.routeWeight });
    });
    this.resolved.delete(user.name);
    this.logger.log(`user ${user.name}: ${routes.length + 1} route(s) set`);
    this.learnPoolSizes([...(backups ?? []), ...routes.flatMap((route) => route.accounts)]);
    for (const listener of this.routeListeners) listener(user);
    void this.refreshSizing();
    return user;
  }

  /** Called with a name whose routes were replaced (the routing follows at once). */
  onRoutesChanged(listener: (user: User) => void): void {
    this.routeListeners.push(listener);
  }

  /** Replaces a name's backup accounts (management API); miners pick the new list up on their next authorize. */
  async replaceBackups(name: string, requests: readonly BackupRequest[]): Promise<User> {
    const user = await this.find(name);
    if (!user) throw new NotFoundException(`user ${name} does not exist`);
    const backups = await this.backupsFor(user, requests);
    user.backups = await this.users.manager.transaction((manager) => this.storeBackups(manager, user.name, backups));
    this.resolved.delete(user.name);
    this.logger.log(`user ${user.name}: ${backups.length} backup account(s) set`);
    this.learnPoolSizes(backups);
    void this.refreshSizing();
    return user;
  }

  /** The user for a name (case-insensitive) as stored now, or null: for the API. */
  find(name: string): Promise<User | null> {
    const normalized = normalizeUserName(name);
    return normalized ? this.users.findOneBy({ name: normalized }) : Promise.resolve(null);
  }

  /** The user for a miner's login name (case-insensitive), or null; answered from memory for a few seconds. */
  async resolve(name: string): Promise<User | null> {
    const normalized = normalizeUserName(name);
    if (!normalized) return null;
    const now = Date.now();
    const hit = this.resolved.get(normalized);
    if (hit && now - hit.at < RESOLVED_TTL_MS) return hit.user;
    const user = await this.users.findOneBy({ name: normalized });
    // Only found names are kept: a name registered a moment ago must work at once.
    this.resolved.delete(normalized);
    if (user) {
      if (this.resolved.size >= RESOLVED_MAX) this.resolved.delete(this.resolved.keys().next().value as string);
      this.resolved.set(normalized, { user, at: now });
    }
    return user;
  }

  list(): Promise<User[]> {
    return this.users.find({ order: { createdAt: 'ASC', name: 'ASC' } });
  }

  /** Deletes users whose last activity (or registration, if never seen) is older than the cutoff. */
  async expireInactive(cutoff: Date): Promise<number> {
    const stale = await this.users
      .createQueryBuilder('user')
      .leftJoinAndSelect('user.pool', 'pool')
      .where('COALESCE(user.last_seen_at, user.created_at) < :cutoff', { cutoff: cutoff.getTime() })
      .getMany();
    for (const user of stale) {
      await this.users.delete({ name: user.name });
      this.resolved.delete(user.name);
      const since = (user.lastSeenAt ?? user.createdAt).toISOString();
      this.logger.log(`expired user ${user.name} (pool ${user.pool.address}): inactive since ${since}`);
    }
    return stale.length;
  }

  async remove(name: string): Promise<void> {
    const normalized = normalizeUserName(name);
    const result = normalized ? await this.users.delete({ name: normalized }) : { affected: 0 };
    if (normalized) this.resolved.delete(normalized);
    if (!result.affected) throw new NotFoundException(`user ${name} does not exist`);
    this.logger.log(`deleted user ${normalized}`);
    void this.refreshSizing();
  }
}

/**
 * A pool written with a scheme must be reached the way it is registered: TLS or not, SV1 or SV2, and with
 * the authority key registered for it (a key given in the URL that is not that one would not be used).
 */
function refuseOtherScheme(pool: Pool, written: Pick<ParsedPoolAddress, 'tls' | 'protocol' | 'authorityPubkey'>): void {
  const registered = pool.protocol ?? 'sv1';
  const sv2Url = `stratum2+tcp://${pool.address}/${pool.authorityPubkey ?? '<authority key>'}`;
  if (written.protocol !== undefined && written.protocol !== registered)
    throw new InvalidAccountError(
      registered === 'sv2'
        ? `pool ${pool.address} is registered as a Stratum V2 pool: use ${sv2Url}`
        : `pool ${pool.address} is registered as a Stratum V1 pool: use ${pool.tls ? 'stratum+ssl://' : 'stratum+tcp://'}${pool.address}`,
    );
  if (written.tls !== undefined && written.tls !== pool.tls)
    throw new InvalidAccountError(
      `pool ${pool.address} is registered ${pool.tls ? 'with' : 'without'} TLS: use ${pool.tls ? 'stratum+ssl://' : 'stratum+tcp://'}`,
    );
  if (written.authorityPubkey !== undefined && written.authorityPubkey !== pool.authorityPubkey)
    throw new InvalidAccountError(`pool ${pool.address} is registered with another authority key: use ${sv2Url}`);
}

function sameAccount(a: NameAccount, b: NameAccount): boolean {
  return a.pool.id === b.pool.id && a.accountUser === b.accountUser && a.accountPassword === b.accountPassword;
}
