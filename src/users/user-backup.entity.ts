import { Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { PoolAccountColumns } from './pool-account.columns.js';
import type { User } from './user.entity.js';

/** A backup pool account of a registered name, tried in `position` order when the ones before fail. */
@Entity({ name: 'user_backups' })
export class UserBackup extends PoolAccountColumns {
  @PrimaryColumn({ name: 'user_name', type: 'varchar', length: 16 })
  userName: string;

  /** 1 for the first backup (the primary is the user's own account). */
  @PrimaryColumn({ type: 'integer' })
  position: number;

  @ManyToOne('User', (user: User) => user.backups, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_name' })
  user?: User;
}
