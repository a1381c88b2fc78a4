/** Hex helpers for wire fields. All hex is validated before use: non-hex must never reach a pool. */

const HEX = /^[0-9a-fA-F]*$/;

export function isHex(text: unknown, bytes?: number): text is string {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !HEX.test(text)) return false;
  return bytes === undefined || text.length === bytes * 2;
}

/** Reverses the byte order of a hex string ("0a0b" -> "0b0a"). */
export function reverseHex(hex: string): string {
  let out = '';
  for (let i = hex.length - 2; i >= 0; i -= 2) out += hex.slice(i, i + 2);
  return out;
}

/** Swaps the bytes inside each 4-byte word: notify's prevhash <-> header byte order. */
export function swapWords(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3];
    out[i + 1] = bytes[i + 2];
    out[i + 2] = bytes[i + 1];
    out[i + 3] = bytes[i];
  }
  return out;
}

export function zeroHex(bytes: number): string {
  return '00'.repeat(bytes);
}
