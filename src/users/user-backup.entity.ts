import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { passwordColumn } from '../database/secrets.js';
import { Pool } from '../pools/pool.entity.js';
import type { User } from './user.entity.js';

/** A backup pool account of a registered name, tried in `position` order when the ones before fail. */
@Entity({ name: 'user_backups' })
export class UserBackup {
  @PrimaryColumn({ name: 'user_name', type: 'varchar', length: 16 })
  userName: string;

  /** 1 for the first backup (the primary is the user's own account). */
  @PrimaryColumn({ type: 'integer' })
  position: number;

  @ManyToOne('User', (user: User) => user.backups, { onDelete: 'CASCADE' })
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
