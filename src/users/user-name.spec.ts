import { generateUserName, normalizeUserName, USER_NAME } from './user-name.js';

describe('user names', () => {
  it('are 16 lower-case hex characters from the random source', () => {
    const name = generateUserName(() => Buffer.from('0123456789abcdef', 'hex'));
    expect(name).toBe('0123456789abcdef');
    expect(USER_NAME.test(generateUserName())).toBe(true);
  });

  it('do not repeat across many draws', () => {
    const names = new Set(Array.from({ length: 10_000 }, () => generateUserName()));
    expect(names.size).toBe(10_000);
  });

  it('are looked up ignoring case and surrounding spaces', () => {
    expect(normalizeUserName(' 0123456789ABCDEF ')).toBe('0123456789abcdef');
    expect(normalizeUserName('0123456789abcde')).toBeNull();
    expect(normalizeUserName('0123456789abcdeg')).toBeNull();
  });
});
