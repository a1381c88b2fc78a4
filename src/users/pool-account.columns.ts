import { Column, JoinColumn, ManyToOne } from 'typeorm';
import { passwordColumn } from '../database/secrets.js';
import { Pool } from '../pools/pool.entity.js';

/** The columns of one pool account (a backup or a route's account): the pool, its login and its password. */
export abstract class PoolAccountColumns {
  @ManyToOne(() => Pool, { nullable: false, onDelete: 'RESTRICT', eager: true })
  @JoinColumn({ name: 'pool_id' })
  pool: Pool;

  @Column({ name: 'account_user', type: 'varchar', length: 256 })
  accountUser: string;

  /** Stored as given or encrypted with PROXY_SECRET_KEY. */
  @Column({ name: 'account_password', type: 'varchar', length: 1024, transformer: passwordColumn })
  accountPassword: string;
}
