import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import type { ValueTransformer } from 'typeorm';

/** Marks a value sealed with AES-256-GCM: `enc:v1:` + base64(iv 12 | tag 16 | ciphertext). */
const SEALED = 'enc:v1:';
/** Keys are derived from the operator's secret (any length) with scrypt and a fixed, purpose-bound salt. */
const KEY_SALT = 'stratum-proxy/pool-passwords/v1';

/** The secret does not open a sealed value (wrong or missing key). */
export class SecretKeyError extends Error {}

/**
 * Pool passwords at rest: sealed with AES-256-GCM under a key derived from PROXY_SECRET_KEY, or stored as
 * given without one. The digest that identifies equal credentials (registration answers the same name) is
 * an HMAC under the key, or a plain SHA-256 without one, so the password itself is in no index.
 */
export class SecretBox {
  private readonly key: Buffer | null;

  constructor(secret: string | null) {
    this.key = secret ? scryptSync(secret, KEY_SALT, 32) : null;
  }

  get hasKey(): boolean {
    return this.key !== null;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(SEALED);
  }

  seal(text: string): string {
    if (!this.key) return text;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return SEALED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The password a stored value holds; throws SecretKeyError when it is sealed and this key cannot open it. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    if (!this.key) throw new SecretKeyError('a pool password is encrypted and no PROXY_SECRET_KEY is set');
    const raw = Buffer.from(stored.slice(SEALED.length), 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError('PROXY_SECRET_KEY does not decrypt a stored pool password (wrong key?)');
    }
  }

  /** Identifies a password without holding it: equal passwords, equal digests (under the same key). */
  digest(text: string): string {
    return this.key
      ? `hmac:${createHmac('sha256', this.key).update(text).digest('hex')}`
      : `sha256:${createHash('sha256').update(text).digest('hex')}`;
  }
}

/** The box of this process, set once at start before the database is opened. */
let current = new SecretBox(null);

export function useSecretBox(box: SecretBox): void {
  current = box;
}

export function secretBox(): SecretBox {
  return current;
}

/** A column holding a pool password: sealed on the way in (with a key), opened on the way out. */
export const passwordColumn: ValueTransformer = {
  to: (value: string | null | undefined) => (typeof value === 'string' ? current.seal(value) : value),
  from: (value: string | null) => (value === null ? null : current.open(value)),
};
