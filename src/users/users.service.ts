import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isUniqueViolation } from '../database/constraint-errors.js';
import { PoolChanges } from '../pools/pool-changes.js';
import { PoolsService } from '../pools/pools.service.js';
import { User } from './user.entity.js';
import { generateUserName, normalizeUserName } from './user-name.js';

export interface Registration {
  user: User;
  created: boolean;
}

export class UnsupportedPoolError extends Error {}

const NAME_ATTEMPTS = 8;
/** How long a resolved name is answered from memory (a user deleted elsewhere may log in that much longer). */
const RESOLVED_TTL_MS = 5000;
const RESOLVED_MAX = 10_000;

@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);
  /**
   * Names resolved lately: a farm powering up authorizes thousands of miners of a few names within
   * seconds, and each lookup was a synchronous SQLite query and a User of its own held by every session.
   */
  private readonly resolved = new Map<string, { readonly user: User; readonly at: number }>();

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly pools: PoolsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    poolChanges: PoolChanges,
  ) {
    poolChanges.subscribe((pool) => {
      for (const [name, { user }] of this.resolved) if (user.pool.id === pool.id) this.resolved.delete(name);
    });
  }

  /** Registers credentials for a supported pool; the same credentials always get the same name. */
  async register(poolAddress: string, accountUser: string, accountPassword: string): Promise<Registration> {
    const separator = poolAddress.lastIndexOf(':');
    const host = poolAddress.slice(0, separator);
    const port = Number(poolAddress.slice(separator + 1));
    let pool = await this.pools.findByAddress(host, port);
    if (!pool && this.config.pools.allowUnknown) {
      pool = await this.pools.createUnknown(host, port);
      this.logger.log(`added pool ${pool.address} of unknown algorithm (--pools.allowUnknown): it is detected from the first shares`);
    }
    if (!pool) throw new UnsupportedPoolError(`pool ${host.toLowerCase()}:${port} is not supported`);

    const credentials = { pool: { id: pool.id }, accountUser, accountPassword };
    const existing = await this.users.findOneBy(credentials);
    if (existing) return { user: existing, created: false };

    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = generateUserName();
      if (await this.users.existsBy({ name })) continue;
      const user = this.users.create({ name, pool, accountUser, accountPassword, createdAt: new Date(), lastSeenAt: null });
      try {
        await this.users.insert(user);
        this.logger.log(`registered user ${name} for pool ${pool.address}`);
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
  }
}
