// Values that stand where a secret should be but are known to everyone: the usual placeholders and the
// repository's own examples. Refused at start, so that a copied example never runs with a public secret.
import { ConfigError, FLAGS, FlagKey } from './flags.js';

/** The flags that hold secrets; --db.url is looked at for the password inside it. */
const SECRET_FLAGS: readonly FlagKey[] = ['apiToken', 'apiRegistrationToken', 'secretKey', 'previousSecretKey', 'dbPassword'];

/** Placeholders, compared lower-cased with everything but letters and digits dropped ("Change-Me" is "changeme"). */
const PLACEHOLDERS = new Set([
  // docker/.env.example and the README's examples
  'changeme',
  'secret',
  'password',
  // the usual ones
  'change',
  'changeit',
  'changethis',
  'replaceme',
  'secrets',
  'mysecret',
  'supersecret',
  'topsecret',
  's3cr3t',
  'passwd',
  'pass',
  'passw0rd',
  'p4ssw0rd',
  'password1',
  'password123',
  'mypassword',
  'example',
  'sample',
  'test',
  'testing',
  'demo',
  'dummy',
  'default',
  'token',
  'mytoken',
  'apitoken',
  'key',
  'apikey',
  'secretkey',
  'admin',
  'root',
  'postgres',
  'proxy',
  'todo',
  'fixme',
  'tbd',
  'foo',
  'bar',
  'foobar',
  'qwerty',
  'letmein',
  'abc123',
  '123456',
  '12345678',
  '123456789',
  '1234567890',
]);

/** Words no generated secret contains, wherever they stand ("change-me-please", "<your-token-here>"). */
const PLACEHOLDER_WORDS = [
  'changeme',
  'changethis',
  'replaceme',
  'placeholder',
  'example',
  'yoursecret',
  'yourtoken',
  'yourpassword',
  'yourkey',
];

/** Values people write to mean "off": the proxy's "off" is an empty value. */
const OFF_WORDS = new Set(['none', 'null', 'nil', 'undefined', 'empty', 'false', 'off', 'no', 'disabled']);

/** Why `value` is a placeholder rather than a secret, or null. An empty value is "not set", never a placeholder. */
export function placeholderReason(value: string): string | null {
  if (value === '') return null;
  const text = value.trim();
  if (text === '') return 'is only blanks; leave it empty to mean none';
  if (/^(["'])\1$/.test(text)) return 'is an empty pair of quotes; leave it empty to mean none';
  if (/^\$[({]|^`/.test(text)) return 'is a shell command or variable nobody ran (env files and compose take it as it is)';
  if (/^<[^>]*>$|^\[[^\]]*\]$|^\{[^}]*\}$/.test(text)) return `is a placeholder (${JSON.stringify(text)})`;
  const normal = text.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (OFF_WORDS.has(normal)) return `is ${JSON.stringify(text)}; leave it empty to mean none`;
  if (PLACEHOLDERS.has(normal)) return `is ${JSON.stringify(text)}, a well-known placeholder`;
  const word = PLACEHOLDER_WORDS.find((candidate) => normal.includes(candidate));
  if (word) return `contains "${word}": a placeholder, not a secret`;
  if (text.length >= 3 && /^(.)\1*$/s.test(text)) return 'is one character repeated: a placeholder, not a secret';
  if (normal === '' && text.length >= 3) return 'has no letters or digits: a placeholder, not a secret';
  return null;
}

/**
 * Throws ConfigError naming the first secret flag (or the password in --db.url) that holds a placeholder.
 * The message never repeats a value that is not itself a known placeholder.
 */
export function refusePlaceholderSecrets(values: { readonly [K in FlagKey]?: unknown }): void {
  for (const key of SECRET_FLAGS) {
    const value = values[key];
    const reason = typeof value === 'string' ? placeholderReason(value) : null;
    if (reason) throw new ConfigError(`--${FLAGS[key].name} (${FLAGS[key].env}) ${reason}; generate a secret, e.g. openssl rand -hex 32`);
  }
  const reason = typeof values.dbUrl === 'string' ? placeholderReason(urlPassword(values.dbUrl)) : null;
  if (reason)
    throw new ConfigError(
      `--db.url (DATABASE_URL): its password ${reason}; give the database role a generated one (openssl rand -hex 32), preferably in DATABASE_PASSWORD`,
    );
}

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return ''; // not a URL, or a malformed escape: the URL's own check reports it
  }
}
