import { Check, Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** A mining algorithm; `divider` turns a share's difficulty into difficulty-1 shares (stratum-protocol.md section 3). */
@Entity({ name: 'algorithms' })
@Check('CHK_algorithms_divider', '"divider" > 0')
export class Algorithm {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /** Stored lower-case, so uniqueness ignores case on every driver. */
  @Column({ type: 'varchar', length: 64, unique: true })
  name: string;

  @Column({ type: 'double precision' })
  divider: number;
}
