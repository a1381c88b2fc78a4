import { randomBytes } from 'node:crypto';

/** A user name is 16 lower-case hex characters: 64 bits from the cryptographic random source. */
export const USER_NAME = /^[0-9a-f]{16}$/;

export function generateUserName(random: (size: number) => Buffer = randomBytes): string {
  return random(8).toString('hex');
}

/** Names are looked up ignoring case; returns null for anything that cannot be a name. */
export function normalizeUserName(text: string): string | null {
  const name = text.trim().toLowerCase();
  return USER_NAME.test(name) ? name : null;
}
