import { Column, Entity, JoinColumn, ManyToOne, OneToMany, PrimaryColumn, Unique } from 'typeorm';
import { Pool } from '../pools/pool.entity.js';
import { passwordColumn } from '../database/secrets.js';
import { UserBackup } from './user-backup.entity.js';
import { UserRoute } from './user-route.entity.js';

/** Timestamps are stored as epoch milliseconds: portable between SQLite and PostgreSQL, always UTC. */
const epochMillis = {
  to: (value: Date | null | undefined): number | null | undefined => (value instanceof Date ? value.getTime() : value),
  from: (value: string | number | null): Date | null => (value === null ? null : new Date(Number(value))),
};

/** Registered pool credentials, known to miners by a short random `name`. */
@Entity({ name: 'users' })
@Unique('UQ_users_credentials', ['pool', 'accountUser', 'passwordDigest'])
export class User {
  /** 16 lower-case hex characters. */
  @PrimaryColumn({ type: 'varchar', length: 16 })
  name: string;

  @ManyToOne(() => Pool, { nullable: false, onDelete: 'RESTRICT', eager: true })
  @JoinColumn({ name: 'pool_id' })
  pool: Pool;

  @Column({ name: 'account_user', type: 'varchar', length: 256 })
  accountUser: string;

  /** Identifies the password (a digest, see secrets.ts): the unique index holds this, never the password. */
  @Column({ name: 'account_password', type: 'varchar', length: 256 })
  passwordDigest: string;

  /** The pool password, stored as given or encrypted with PROXY_SECRET_KEY. */
  @Column({ name: 'account_secret', type: 'varchar', length: 1024, transformer: passwordColumn })
  accountPassword: string;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMillis })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'bigint', nullable: true, transformer: epochMillis })
  lastSeenAt: Date | null;

  /** Backup accounts in failover order (loaded with the user). */
  @OneToMany(() => UserBackup, (backup) => backup.user, { eager: true })
  backups: UserBackup[];

  /** Route 0's weight (routing by weight): null means 100, the weight of a name with one route. */
  @Column({ name: 'route_weight', type: 'double precision', nullable: true })
  routeWeight: number | null;

  /** The accounts of routes 1, 2, ... (loaded with the user; none for a name with one route). */
  @OneToMany(() => UserRoute, (route) => route.user, { eager: true })
  routes: UserRoute[];
}
