import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RegisterUserDto, ReplaceBackupsDto } from './register-user.dto.js';

const errors = (body: object) =>
  validateSync(plainToInstance(RegisterUserDto, body), { whitelist: true }).flatMap((error) => Object.values(error.constraints ?? {}));

describe('RegisterUserDto', () => {
  it('accepts the original body, with an empty or missing password', () => {
    expect(errors({ pool: 'btc.f2pool.com:3333', user: 'acc.worker', password: 'x' })).toEqual([]);
    expect(errors({ pool: 'btc.f2pool.com:3333', user: 'acc', password: '' })).toEqual([]);
    expect(errors({ pool: '121.29.19.24:443', user: 'acc' })).toEqual([]);
  });

  it('accepts stratum URLs, SV2 ones with the authority key after the address', () => {
    const key = '9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72';
    for (const pool of ['stratum+tcp://a.b:1', 'stratum+ssl://a.b:1', `stratum2+tcp://a.b:34254/${key}`, 'stratum2+tcp://[2001:db8::1]:1'])
      expect(errors({ pool, user: 'u' }), pool).toEqual([]);
    for (const pool of [`stratum2+tcp://a.b/${key}`, 'stratum2+tcp://a.b:1/0OIl', `stratum2+ssl://a.b:1/${key}`])
      expect(errors({ pool, user: 'u' }), pool).toContain('pool must be "host:port" (or "[IPv6]:port") with a port from 1 to 65535');
  });

  it('rejects a missing or empty user', () => {
    expect(errors({ pool: 'a.b:1' })).toContain('user is required');
    expect(errors({ pool: 'a.b:1', user: '' })).toContain('user must not be empty');
    expect(errors({ pool: 'a.b:1', user: 5 })).toContain('user must be a string');
  });

  it('rejects a pool that is not host:port', () => {
    for (const pool of ['a.b', 'a.b:0', 'a.b:65536', ':3333', 'a b:1', 'a.b:33x']) {
      expect(errors({ pool, user: 'u' }), pool).toContain('pool must be "host:port" (or "[IPv6]:port") with a port from 1 to 65535');
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

  it('takes backup accounts validated like the primary, and says which one is wrong', () => {
    const nested = (dto: object) =>
      validateSync(dto, { whitelist: true }).flatMap((error) =>
        (error.children ?? []).flatMap((child) => (child.children ?? []).flatMap((leaf) => Object.values(leaf.constraints ?? {}))),
      );
    const ok = plainToInstance(RegisterUserDto, { pool: 'a.b:1', user: 'u', backups: [{ pool: 'c.d:2', user: 'v', password: 'x' }] });
    expect(validateSync(ok, { whitelist: true })).toEqual([]);
    expect(ok.backups![0].pool).toBe('c.d:2');
    const bad = plainToInstance(RegisterUserDto, { pool: 'a.b:1', user: 'u', backups: [{ pool: 'c.d', user: '' }] });
    expect(nested(bad)).toEqual(
      expect.arrayContaining(['pool must be "host:port" (or "[IPv6]:port") with a port from 1 to 65535', 'user must not be empty']),
    );
    expect(errors({ pool: 'a.b:1', user: 'u', backups: 'c.d:2' })).toContain('backups must be an array of {"pool", "user", "password"}');
    const many = Array.from({ length: 9 }, (_, i) => ({ pool: `h${i}.x:1`, user: 'v' }));
    expect(errors({ pool: 'a.b:1', user: 'u', backups: many })).toContain('backups must have at most 8 accounts');
    const replace = (body: object) =>
      validateSync(plainToInstance(ReplaceBackupsDto, body), { whitelist: true }).flatMap((error) =>
        Object.values(error.constraints ?? {}),
      );
    expect(replace({})).toContain('backups is required (an array, [] for none)');
    expect(replace({ backups: [] })).toEqual([]);
  });

  it('refuses a blank user and control characters in the user or password', () => {
    expect(errors({ pool: 'a.b:1', user: '   ' })).toContain('user must not be blank or contain control characters');
    expect(errors({ pool: 'a.b:1', user: 'a\u0001b' })).toContain('user must not be blank or contain control characters');
    expect(errors({ pool: 'a.b:1', user: 'a\nb' })).toContain('user must not be blank or contain control characters');
    expect(errors({ pool: 'a.b:1', user: 'acct.rig 1', password: 'x\u007f' })).toEqual(['password must not contain control characters']);
    expect(errors({ pool: 'a.b:1', user: 'acct.rig 1', password: 'pass word' })).toEqual([]);
  });
});
