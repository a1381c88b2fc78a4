import { zeroHex } from './hex.js';
import type { PoolJob } from './pool-messages.js';

/**
 * Extranonce translation (design.md). The miner knows only its own extranonce1 P and extranonce2 size m.
 * The pool gave extranonce1 E1 and size n >= |P| + m. The miner hashes coinb1+E1 ‖ P ‖ e2 ‖ Z+coinb2,
 * where Z is n - |P| - m zero bytes, which is byte for byte the pool's coinb1 ‖ E1 ‖ (P+e2+Z) ‖ coinb2.
 */
export interface ExtranonceTranslation {
  /** The pool's extranonce1, appended to coinb1. */
  readonly poolExtranonce1: string;
  /** Zero padding (hex) put in front of coinb2 and after the miner's extranonce2. */
  readonly padding: string;
}

/** True when the miner's prefix and extranonce2 size fit inside the pool's extranonce2. */
export function fitsPool(poolExtranonce2Size: number, prefixBytes: number, minerExtranonce2Size: number): boolean {
  return poolExtranonce2Size >= prefixBytes + minerExtranonce2Size;
}

export function translation(
  poolExtranonce1: string,
  poolExtranonce2Size: number,
  prefixBytes: number,
  minerExtranonce2Size: number,
): ExtranonceTranslation {
  const paddingBytes = poolExtranonce2Size - prefixBytes - minerExtranonce2Size;
  if (paddingBytes < 0) throw new RangeError(`pool extranonce2 size ${poolExtranonce2Size} < ${prefixBytes} + ${minerExtranonce2Size}`);
  return { poolExtranonce1, padding: zeroHex(paddingBytes) };
}

/** The notify params a miner gets: coinb1 + E1 and Z + coinb2; `cleanJobs` may be forced. */
export function minerNotifyParams(job: PoolJob, t: ExtranonceTranslation, cleanJobs = job.cleanJobs): unknown[] {
  return [
    job.jobId,
    job.prevhash,
    job.coinb1 + t.poolExtranonce1,
    t.padding + job.coinb2,
    job.merkleBranch,
    job.version,
    job.nbits,
    job.ntime,
    cleanJobs,
  ];
}

interface NotifyTemplate {
  readonly head: string;
  readonly tail: string;
}

const templates = new WeakMap<PoolJob, NotifyTemplate>();

/**
 * The miner's mining.notify line, encoded once per job: only E1, the padding and clean_jobs differ per
 * miner, and hex needs no JSON escaping. Same bytes as encodeNotification(minerNotifyParams(...)).
 */
export function minerNotifyLine(job: PoolJob, t: ExtranonceTranslation, cleanJobs: boolean, jobId = job.jobId): string {
  let template = templates.get(job);
  if (!template) {
    template = {
      head: `,"${job.prevhash}","${job.coinb1}`,
      tail: `${job.coinb2}",${JSON.stringify(job.merkleBranch)},"${job.version}","${job.nbits}","${job.ntime}",`,
    };
    templates.set(job, template);
  }
  return `{"id":null,"method":"mining.notify","params":[${JSON.stringify(jobId)}${template.head}${t.poolExtranonce1}","${t.padding}${template.tail}${cleanJobs}]}\n`;
}

/** The extranonce2 the pool gets for a miner's share: P + e2 + Z. */
export function poolExtranonce2(prefix: string, minerExtranonce2: string, t: ExtranonceTranslation): string {
  return prefix + minerExtranonce2 + t.padding;
}
