import { Injectable } from '@nestjs/common';
import type { Pool } from './pool.entity.js';

/** Tells live sessions that a pool's algorithm changed (set by hand or detected), without a dependency on them. */
@Injectable()
export class PoolChanges {
  private readonly listeners: ((pool: Pool) => void)[] = [];

  subscribe(listener: (pool: Pool) => void): void {
    this.listeners.push(listener);
  }

  emit(pool: Pool): void {
    for (const listener of this.listeners) listener(pool);
  }
}
