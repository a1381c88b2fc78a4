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
  /** `worker`: a name authorized by authorizeWorker (SV1); SV2 has one identity per channel and takes none. */
  submit(jobId: string, extranonce2: string, ntime: string, nonce: string, versionBits?: string, worker?: string): Promise<ShareVerdict>;
  /** One more worker name on the connection (SV1's several authorizations): null when accepted, else why not. SV2: absent. */
  authorizeWorker?(name: string): Promise<string | null>;
  suggestDifficulty(difficulty: number): void;
  /** The measured hashrate of the connection's miners (h/s): SV2 sends it as UpdateChannel; SV1 has no such message. */
  updateNominalHashRate?(hashRate: number): void;
  close(): void;
}
