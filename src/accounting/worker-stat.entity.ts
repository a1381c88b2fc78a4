import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

const epochNumber = { to: (value: number) => value, from: (value: string | number) => Number(value) };

/** Shares of one worker of one user in one UTC minute. Several proxy instances add into the same rows. */
@Entity({ name: 'worker_stats' })
@Index('IDX_worker_stats_minute', ['minute'])
export class WorkerStat {
  @PrimaryColumn({ name: 'user_name', type: 'varchar', length: 16 })
  userName: string;

  /** The rig label, else the miner's address. */
  @PrimaryColumn({ type: 'varchar', length: 128 })
  worker: string;

  /** The minute's start, epoch milliseconds (UTC). */
  @PrimaryColumn({ type: 'bigint', transformer: epochNumber })
  minute: number;

  @Column({ type: 'integer', default: 0 })
  sent: number;

  @Column({ type: 'integer', default: 0 })
  accepted: number;

  @Column({ type: 'integer', default: 0 })
  rejected: number;

  @Column({ name: 'one_sent', type: 'double precision', default: 0 })
  oneSent: number;

  @Column({ name: 'one_accepted', type: 'double precision', default: 0 })
  oneAccepted: number;

  @Column({ name: 'one_rejected', type: 'double precision', default: 0 })
  oneRejected: number;
}
