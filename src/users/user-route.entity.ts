import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { passwordColumn } from '../database/secrets.js';
import { Pool } from '../pools/pool.entity.js';
import type { User } from './user.entity.js';

/**
 * One account of a name's further route (routing by weight, issue 23): route 1, 2, ... (route 0 is the
 * user's own account and backups); position 0 is the route's primary, then its backups in failover order.
 */
@Entity({ name: 'user_routes' })
export class UserRoute {
  @PrimaryColumn({ name: 'user_name', type: 'varchar', length: 16 })
  userName: string;

  @PrimaryColumn({ type: 'integer' })
  route: number;

  @PrimaryColumn({ type: 'integer' })
  position: number;

  /** The route's weight (the same on each of its rows). */
  @Column({ type: 'double precision' })
  weight: number;

  @ManyToOne('User', (user: User) => user.routes, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_name' })
  user?: User;

  @ManyToOne(() => Pool, { nullable: false, onDelete: 'RESTRICT', eager: true })
  @JoinColumn({ name: 'pool_id' })
  pool: Pool;

  @Column({ name: 'account_user', type: 'varchar', length: 256 })
  accountUser: string;

  /** Stored as given or encrypted with PROXY_SECRET_KEY. */
  @Column({ name: 'account_password', type: 'varchar', length: 1024, transformer: passwordColumn })
  accountPassword: string;
}
