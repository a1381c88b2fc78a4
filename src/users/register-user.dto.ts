import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsDefined,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';

const HOST_PORT =
  '(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]+\\]):(?:[1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d{2}|655[0-2]\\d|6553[0-5])';

/**
 * host:port or [IPv6]:port, optionally as stratum+tcp://, stratum+ssl:// or stratum+tls://, or as an SV2 URL
 * stratum2+tcp://host:port/<authority key> (base58 characters; the service checks the key), with a port from 1 to 65535.
 */
export const POOL_ADDRESS = new RegExp(
  `^(?:(?:stratum\\+(?:tcp|ssl|tls):\\/\\/)?${HOST_PORT}|stratum2\\+tcp:\\/\\/${HOST_PORT}(?:\\/[1-9A-HJ-NP-Za-km-z]{1,128})?)$`,
);

/** A pool account: the pool's "host:port", the login and its password. */
export class AccountDto {
  @IsDefined({ message: 'pool is required ("host:port")' })
  @IsString({ message: 'pool must be a string "host:port"' })
  @MaxLength(256, { message: 'pool must be at most 256 characters' })
  @Matches(POOL_ADDRESS, { message: 'pool must be "host:port" (or "[IPv6]:port") with a port from 1 to 65535' })
  pool: string;

  @IsDefined({ message: 'user is required' })
  @IsString({ message: 'user must be a string' })
  @IsNotEmpty({ message: 'user must not be empty' })
  @MaxLength(256, { message: 'user must be at most 256 characters' })
  @Matches(/^(?=.*\S)\P{Cc}*$/u, { message: 'user must not be blank or contain control characters' })
  user: string;

  @IsOptional()
  @IsString({ message: 'password must be a string' })
  @MaxLength(256, { message: 'password must be at most 256 characters' })
  @Matches(/^\P{Cc}*$/u, { message: 'password must not contain control characters' })
  password?: string;
}

/** Most backup accounts per name (the service checks it too, for callers that skip the DTO). */
export const MAX_BACKUPS = 8;

/** Most routes per name, and the largest weight (routing by weight, issue 23). */
export const MAX_ROUTES = 8;
export const MAX_WEIGHT = 100_000;

/** Property decorators as if stacked in this order (TypeScript applies a stack bottom up), declared once. */
const all =
  (...decorators: PropertyDecorator[]): PropertyDecorator =>
  (target, key) => {
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };

/** A list of backup accounts, in failover order. */
const backupAccounts = () =>
  all(
    IsArray({ message: 'backups must be an array of {"pool", "user", "password"}' }),
    ArrayMaxSize(MAX_BACKUPS, { message: `backups must have at most ${MAX_BACKUPS} accounts` }),
    ValidateNested({ each: true }),
    Type(() => AccountDto),
  );

const ROUTES_TEXT = 'routes must be an array of {"weight", "pool", "user", "password", "backups"}';

/** A list of routes, from one to MAX_ROUTES. */
const routeList = () =>
  all(
    IsArray({ message: ROUTES_TEXT }),
    ArrayMinSize(1, { message: 'routes must have at least one route' }),
    ArrayMaxSize(MAX_ROUTES, { message: `routes must have at most ${MAX_ROUTES} routes` }),
    ValidateNested({ each: true }),
    Type(() => RouteDto),
  );

/** An account with optional backups: a route's accounts, or the name's own in the original body. */
class AccountWithBackupsDto extends AccountDto {
  @IsOptional()
  @backupAccounts()
  backups?: AccountDto[];
}

/** One route: a weight and its accounts (a primary and backups in failover order). */
export class RouteDto extends AccountWithBackupsDto {
  @IsDefined({ message: 'weight is required (a number from 0 to 100000)' })
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'weight must be a number from 0 to 100000' })
  @Min(0, { message: 'weight must be a number from 0 to 100000' })
  @Max(MAX_WEIGHT, { message: 'weight must be a number from 0 to 100000' })
  weight: number;
}

/**
 * The original's registration body, with optional backup accounts, or `routes` (then without pool, user,
 * password and backups of its own: route 0 is the name's account). Unknown fields are ignored.
 */
export class RegisterUserDto extends AccountWithBackupsDto {
  @IsOptional()
  @routeList()
  routes?: RouteDto[];
}

/** PUT /api/v1/users/:name/backups: the whole list, in failover order ([] removes them). */
export class ReplaceBackupsDto {
  @IsDefined({ message: 'backups is required (an array, [] for none)' })
  @backupAccounts()
  backups: AccountDto[];
}

// With routes, pool and user belong to the routes: checked only when given (the controller refuses both).
for (const property of ['pool', 'user'] as const)
  ValidateIf((body: RegisterUserDto) => body.routes === undefined || body[property] !== undefined)(RegisterUserDto.prototype, property);

/** PUT /api/v1/users/:name/routes: every route; routes[0] is the name's own account (pool and user as registered). */
export class ReplaceRoutesDto {
  @IsDefined({ message: "routes is required (an array of routes, the name's own account first)" })
  @routeList()
  routes: RouteDto[];
}
