import { Injectable, Logger } from '@nestjs/common';
import { difficultyToTarget } from '../../protocol/difficulty.js';
import { hashMeetsTarget, targetBytes } from '../../protocol/share-hash.js';
import { AlgorithmsService } from '../algorithms.service.js';
import { PoolsService } from '../pools.service.js';
import { SHARE_HASHERS } from './share-hashers.js';

/** Accepted shares in a row an algorithm must explain before it is stored for the pool. */
export const DETECTION_STREAK = 3;
const DIVIDERS_TTL_MS = 60_000;

/**
 * Learns the algorithm of a pool the database does not know, from the shares the pool accepts: each is
 * hashed with every registered hash function; an algorithm whose hash meets the share's target on
 * DETECTION_STREAK accepted shares in a row is stored. Never rejects a share, never decides on one alone.
 */
@Injectable()
export class AlgorithmDetector {
  private readonly logger = new Logger(AlgorithmDetector.name);
  private readonly streaks = new Map<number, Map<string, number>>();
  private readonly decided = new Set<number>();
  private dividers: { at: number; byName: Map<string, number> } | null = null;

  constructor(
    private readonly algorithms: AlgorithmsService,
    private readonly pools: PoolsService,
  ) {}

  /** One accepted share of a pool of unknown algorithm: its header and the difficulty of its job. */
  async observe(poolId: number, poolAddress: string, header: Buffer, difficulty: number): Promise<void> {
    if (this.decided.has(poolId)) return;
    const dividers = await this.currentDividers();
    const streaks = this.streaks.get(poolId) ?? new Map<string, number>();
    this.streaks.set(poolId, streaks);
    for (const [name, hasher] of SHARE_HASHERS) {
      const divider = dividers.get(name);
      if (divider === undefined) continue;
      const matches = hashMeetsTarget(await hasher.hash(header), targetBytes(difficultyToTarget(difficulty / divider)));
      streaks.set(name, matches ? (streaks.get(name) ?? 0) + 1 : 0);
    }
    // Several can match at tiny difficulties; the one with the strictest target is the least likely by chance.
    const found = [...streaks]
      .filter(([, streak]) => streak >= DETECTION_STREAK)
      .sort(([a], [b]) => dividers.get(a)! - dividers.get(b)!)[0];
    if (!found || this.decided.has(poolId)) return;
    this.decided.add(poolId);
    this.streaks.delete(poolId);
    try {
      await this.pools.recordDetectedAlgorithm(poolId, found[0]);
      this.logger.log(`pool ${poolAddress}: algorithm detected as ${found[0]} from ${found[1]} accepted shares in a row`);
    } catch (error) {
      this.decided.delete(poolId);
      this.logger.warn(`pool ${poolAddress}: storing the detected algorithm ${found[0]} failed: ${(error as Error).message}`);
    }
  }

  private async currentDividers(): Promise<Map<string, number>> {
    if (!this.dividers || Date.now() - this.dividers.at > DIVIDERS_TTL_MS) {
      const list = await this.algorithms.list();
      this.dividers = { at: Date.now(), byName: new Map(list.map((algorithm) => [algorithm.name, algorithm.divider])) };
    }
    return this.dividers.byName;
  }
}
