import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PoolAccountColumns } from './pool-account.columns.js';
import type { User } from './user.entity.js';

/**
 * One account of a name's further route (routing by weight, issue 23): route 1, 2, ... (route 0 is the
 * user's own account and backups); position 0 is the route's primary, then its backups in failover order.
 */
@Entity({ name: 'user_routes' })
export class UserRoute extends PoolAccountColumns {
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
}
