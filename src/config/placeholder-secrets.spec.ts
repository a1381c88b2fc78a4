import { readFileSync } from 'node:fs';
import { parseCommandLine } from './app-config.js';
import { ConfigError } from './flags.js';
import { placeholderReason, refusePlaceholderSecrets } from './placeholder-secrets.js';

describe('placeholderReason', () => {
  it.each([
    'change-me',
    'CHANGE_ME',
    'changeme',
    'change me please',
    'secret',
    'Password',
    'example',
    'my-example-token',
    'test',
    'postgres',
    '123456',
    '<secret>',
    '<password>',
    '[token]',
    '$(openssl rand -hex 32)',
    '${API_TOKEN}',
    '`openssl rand -hex 32`',
    '   ',
    '""',
    "''",
    'none',
    'null',
    'false',
    'xxxxxxxx',
    '********',
    '...',
    'your-token-here',
  ])('refuses %j', (value) => {
    expect(placeholderReason(value)).toEqual(expect.any(String));
  });

  it.each(['', 'd1b0c3f7e5a94c2b8e6f0a1d3c5b7e9f', 'test-token-123', 'first key', 't', 'p@ss/w:rd#1', 'correct horse battery staple'])(
    'accepts %j',
    (value) => {
      expect(placeholderReason(value)).toBeNull();
    },
  );

  it("refuses every value of the repository's docker/.env.example (blank ones mean: not set)", () => {
    const example = readFileSync(new URL('../../docker/.env.example', import.meta.url), 'utf8');
    const values = [...example.matchAll(/^\w+=(.*)$/gm)].map((match) => match[1]);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) expect(value === '' || placeholderReason(value) !== null, value).toBe(true);
  });
});

describe('refusePlaceholderSecrets', () => {
  const failure = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
    try {
      parseCommandLine(argv, env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    [
      ['--api.token=change-me'],
      '--api.token (API_TOKEN) is "change-me", a well-known placeholder; generate a secret, e.g. openssl rand -hex 32',
    ],
    [['--api.registrationToken=secret'], '--api.registrationToken (API_REGISTRATION_TOKEN) is "secret", a well-known placeholder'],
    [['--secrets.key=<secret>'], '--secrets.key (PROXY_SECRET_KEY) is a placeholder ("<secret>")'],
    [['--secrets.previousKey=changeme'], '--secrets.previousKey (PROXY_SECRET_KEY_PREVIOUS) is "changeme"'],
    [['--db.url=postgres://u@h/db', '--db.password=password'], '--db.password (DATABASE_PASSWORD) is "password"'],
  ])('names the flag and the reason for %j', (argv, message) => {
    expect(failure(argv)).toContain(message);
  });

  it('reads the environment, and looks at the password inside DATABASE_URL', () => {
    expect(failure([], { PROXY_SECRET_KEY: 'change-me' })).toContain('--secrets.key (PROXY_SECRET_KEY) is "change-me"');
    expect(failure([], { DATABASE_URL: 'postgres://proxy:secret@db:5432/proxy' })).toBe(
      '--db.url (DATABASE_URL): its password is "secret", a well-known placeholder; give the database role a generated one (openssl rand -hex 32), preferably in DATABASE_PASSWORD',
    );
    expect(failure([], { DATABASE_URL: 'postgres://proxy:change%2Dme@db/proxy' })).toContain('its password is "change-me"');
  });

  it('never repeats a value that is not a known placeholder', () => {
    expect(failure(['--api.token=zq-example-9f31'])).not.toContain('zq-example-9f31');
  });

  it('lets empty values and real secrets through', () => {
    expect(() => refusePlaceholderSecrets({ apiToken: '', secretKey: '', dbUrl: 'postgres://u@h/db' })).not.toThrow();
    const config = parseCommandLine(
      ['--api.token=3f1c9e0b7a52d8e4', '--secrets.key=9b2e7d41c0a3f5e6', '--db.url=postgres://u:Xk9%40q%2F1@h/db'],
      {},
    );
    expect(config.kind).toBe('run');
  });
});
