/**
 * Hands out the proxy's per-miner extranonce1 (the prefix P) at subscribe, before the miner's account is
 * known. Values go round robin, skipping those a live session holds, so the miners of one account that
 * connect together get distinct prefixes and fill a channel (one pool connection) before opening another.
 */
export class PrefixAllocator {
  private readonly held = new Map<number, number>();
  private readonly space: number;
  private cursor: number;

  constructor(
    private readonly bytes: number,
    random: () => number = Math.random,
  ) {
    this.space = 256 ** bytes;
    this.cursor = Math.floor(random() * this.space);
  }

  allocate(): string {
    // Bounded search: with every value held (more sessions than prefixes) the next one is shared.
    const tries = Math.min(this.space, 1024);
    let value = this.cursor;
    for (let i = 0; i < tries && this.held.has(value); i++) value = (value + 1) % this.space;
    this.cursor = (value + 1) % this.space;
    this.held.set(value, (this.held.get(value) ?? 0) + 1);
    return value.toString(16).padStart(this.bytes * 2, '0');
  }

  release(prefix: string): void {
    const value = Number.parseInt(prefix, 16);
    const count = this.held.get(value) ?? 0;
    if (count <= 1) this.held.delete(value);
    else this.held.set(value, count - 1);
  }
}
