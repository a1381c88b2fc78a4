import type { PoolExtranonce, PoolJob } from '../protocol/pool-messages.js';
import type { PoolAccount, PoolConnectionListener, ShareVerdict } from './pool-connection.js';

/**
 * What a channel uses of a pool connection, whichever protocol it speaks (PoolConnection for SV1,
 * Sv2PoolConnection for SV2): the seam of design.md "Two upstream protocols".
 */
export interface UpstreamConnection {
  readonly account: PoolAccount;
  readonly address: string;
  readonly isReady: boolean;
  readonly isClosed: boolean;
  readonly sharesInFlight: number;
  readonly extranonce: PoolExtranonce | null;
  readonly versionMask: number | null;
  readonly difficulty: number | null;
  readonly lastJob: PoolJob | null;
  start(): void;
  setListener(listener: PoolConnectionListener): void;
  restart(reason: string): void;
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string): Promise<ShareVerdict>;
  suggestDifficulty(difficulty: number): void;
  /** The measured hashrate of the connection's miners (h/s): SV2 sends it as UpdateChannel; SV1 has no such message. */
  updateNominalHashRate?(hashRate: number): void;
  close(): void;
}
