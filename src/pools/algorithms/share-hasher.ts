/**
 * A proof-of-work function over the 80-byte block header. The result is in the byte order sha256d
 * returns (compared with a target as a little-endian number, see hashMeetsTarget).
 */
export interface ShareHasher {
  /** The algorithm's name in the database. */
  readonly name: string;
  hash(header: Buffer): Promise<Buffer>;
  /** The same, at once, for hashes cheap enough to run inline (no turn of the microtask queue per share). */
  hashSync?(header: Buffer): Buffer;
}
