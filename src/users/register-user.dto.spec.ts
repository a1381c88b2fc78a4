import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RegisterUserDto } from './register-user.dto.js';

const errors = (body: object) =>
  validateSync(plainToInstance(RegisterUserDto, body), { whitelist: true }).flatMap((error) => Object.values(error.constraints ?? {}));

describe('RegisterUserDto', () => {
  it('accepts the original body, with an empty or missing password', () => {
    expect(errors({ pool: 'btc.f2pool.com:3333', user: 'acc.worker', password: 'x' })).toEqual([]);
    expect(errors({ pool: 'btc.f2pool.com:3333', user: 'acc', password: '' })).toEqual([]);
    expect(errors({ pool: '121.29.19.24:443', user: 'acc' })).toEqual([]);
  });

  it('rejects a missing or empty user', () => {
    expect(errors({ pool: 'a.b:1' })).toContain('user is required');
    expect(errors({ pool: 'a.b:1', user: '' })).toContain('user must not be empty');
    expect(errors({ pool: 'a.b:1', user: 5 })).toContain('user must be a string');
  });

  it('rejects a pool that is not host:port', () => {
    for (const pool of ['a.b', 'a.b:0', 'a.b:65536', ':3333', 'a b:1', 'a.b:33x']) {
      expect(errors({ pool, user: 'u' }), pool).toContain('pool must be "host:port" with a port from 1 to 65535');
    }
    expect(errors({ user: 'u' })).toContain('pool is required ("host:port")');
  });

  it('rejects fields over 256 characters', () => {
    const long = 'x'.repeat(257);
    expect(errors({ pool: 'a.b:1', user: long })).toContain('user must be at most 256 characters');
    expect(errors({ pool: 'a.b:1', user: 'u', password: long })).toContain('password must be at most 256 characters');
    expect(errors({ pool: `${'a'.repeat(252)}.com:1`, user: 'u' })).toContain('pool must be at most 256 characters');
    expect(errors({ pool: 'a.b:1', user: 'x'.repeat(256), password: 'y'.repeat(256) })).toEqual([]);
  });
});
