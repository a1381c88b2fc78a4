import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { Algorithm } from './algorithm.entity.js';
import { formatPoolAddress } from './public-address.js';

/** The upstream protocols a pool can speak. */
export const POOL_PROTOCOLS = ['sv1', 'sv2'] as const;
export type PoolProtocol = (typeof POOL_PROTOCOLS)[number];

/** How a pool sees a channel's miners: one worker, the account (the default), or one per rig (`account.rig`). */
export const POOL_WORKER_NAMES = ['account', 'rig'] as const;
export type WorkerNames = (typeof POOL_WORKER_NAMES)[number];

/** A pool endpoint the proxy may connect to; its algorithm is known from host:port, as in the original. */
@Entity({ name: 'pools' })
@Unique('UQ_pools_host_port', ['host', 'port'])
@Check('CHK_pools_port', '"port" >= 1 AND "port" <= 65535')
export class Pool {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /** Stored lower-case: host names compare ignoring case. */
  @Column({ type: 'varchar', length: 255 })
  host: string;

  @Column({ type: 'integer' })
  port: number;

  @ManyToOne(() => Algorithm, { nullable: false, onDelete: 'RESTRICT', eager: true })
  @JoinColumn({ name: 'algorithm_id' })
  algorithm: Algorithm;

  /** When the algorithm was detected from shares (null: set by hand or from the seed). */
  @Column({
    name: 'detected_at',
    type: 'bigint',
    nullable: true,
    transformer: {
      to: (value: Date | null | undefined) => (value instanceof Date ? value.getTime() : value),
      from: (value: string | number | null) => (value === null ? null : new Date(Number(value))),
    },
  })
  detectedAt: Date | null;

  /** Most miners on one connection to this pool (1: one each); null: --upstream.aggregation. */
  @Column({ type: 'integer', nullable: true })
  aggregation: number | null;

  /** Reached over TLS (stratum+ssl): its certificate verified against the system's CAs and its host name. */
  @Column({ type: 'boolean', default: false })
  tls: boolean;

  /** With TLS: the certificate's SHA-256 fingerprint (64 hex) accepted instead of CA verification (self-signed pools). */
  @Column({ name: 'tls_fingerprint', type: 'varchar', length: 64, nullable: true })
  tlsFingerprint: string | null;

  /** The protocol the proxy speaks to the pool: Stratum V1 (JSON lines) or V2 (Noise-encrypted binary frames, extended channels). */
  @Column({ type: 'varchar', length: 8, default: 'sv1' })
  protocol: PoolProtocol;

  /** With SV2: the authority public key the pool publishes (base58check), which must have signed its Noise certificate. */
  @Column({ name: 'authority_pubkey', type: 'varchar', length: 128, nullable: true })
  authorityPubkey: string | null;

  /**
   * How the pool sees a channel's miners: `account` (one worker, the account) or `rig` (each rig authorized
   * as `account.rig` on the shared connection, its shares under that name; SV1 pools only).
   */
  @Column({ name: 'worker_names', type: 'varchar', length: 8, default: 'account' })
  workerNames: WorkerNames;

  /** The extranonce2 size the pool gave at its last subscribe (null: not connected yet): sizes miners' extranonce2. */
  @Column({ name: 'extranonce2_size', type: 'integer', nullable: true })
  extranonce2Size: number | null;

  get address(): string {
    return formatPoolAddress(this.host, this.port);
  }

  /**
   * Added by an anonymous registration under --pools.allowUnknown (its algorithm unknown, or detected from
   * shares since), not by the operator: such a pool is connected to only on public addresses.
   */
  get registeredByUser(): boolean {
    return this.algorithm?.name === 'unknown' || this.detectedAt !== null;
  }
}
