import {
  IsBoolean,
  IsIn,
  IsDefined,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsPositive,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
} from 'class-validator';
import { decodeAuthorityKey } from '../protocol/sv2/authority-key.js';
import { POOL_PROTOCOLS, POOL_WORKER_NAMES, type PoolProtocol, type WorkerNames } from './pool.entity.js';

const ALGORITHM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const HOST_NAME = /^(?=.{1,255}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** A SHA-256 fingerprint as tools print it: 64 hex digits, with or without colons. */
export const TLS_FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/;

export class CreateAlgorithmDto {
  @IsDefined()
  @IsString()
  @MaxLength(64)
  @Matches(ALGORITHM_NAME, { message: 'name must be letters, digits, ".", "_" or "-"' })
  name: string;

  @IsDefined()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  divider: number;
}

export class UpdateAlgorithmDto {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(ALGORITHM_NAME, { message: 'name must be letters, digits, ".", "_" or "-"' })
  name?: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  divider?: number;
}

/** How a pool is reached over TLS: optional in both creating and changing a pool. */
class PoolTlsFields {
  @IsOptional()
  @IsBoolean({ message: 'tls must be true or false' })
  tls?: boolean;

  /** SHA-256 of the pool's certificate (hex, colons allowed); null: verify against the CAs. */
  @IsOptional()
  @Matches(TLS_FINGERPRINT, { message: 'tlsFingerprint must be a SHA-256 fingerprint: 64 hex digits, colons allowed' })
  tlsFingerprint?: string | null;
}

/** Why a text is not an SV2 authority key (base58check, version 1, a point on the curve), or null when it is one. */
export function authorityKeyProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'it must be text (a JSON string)';
  try {
    decodeAuthorityKey(value);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The pool's SV2 authority public key as it publishes it; the message says what is wrong with a bad one. */
function IsAuthorityKey(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isAuthorityKey',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => authorityKeyProblem(value) === null,
        defaultMessage: (args) =>
          `${args?.property ?? 'authorityPubkey'} must be the SV2 authority public key the pool publishes (base58check): ${authorityKeyProblem(args?.value)}`,
      },
    });
}

/** Which protocol the proxy speaks to the pool, and for SV2 the key its certificates are signed with. */
class PoolProtocolFields extends PoolTlsFields {
  @IsOptional()
  @IsIn(POOL_PROTOCOLS, { message: 'protocol must be "sv1" or "sv2"' })
  protocol?: PoolProtocol;

  /** null (on a change) removes it. */
  @IsOptional()
  @IsAuthorityKey()
  authorityPubkey?: string | null;

  /** How the pool sees the miners: one worker (the account) or each rig as `account.rig` (SV1 pools; SV2 keeps the account). */
  @IsOptional()
  @IsIn(POOL_WORKER_NAMES, { message: 'workerNames must be "account" or "rig"' })
  workerNames?: WorkerNames;
}

export class CreatePoolDto extends PoolProtocolFields {
  @IsDefined()
  @IsString()
  @Matches(HOST_NAME, { message: 'host must be a host name or IPv4 address' })
  host: string;

  @IsDefined()
  @IsInt()
  @Min(1)
  @Max(65535)
  port: number;

  @IsDefined()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  algorithm: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65536)
  aggregation?: number | null;
}

export class UpdatePoolDto extends PoolProtocolFields {
  @IsOptional()
  @IsString()
  @Matches(HOST_NAME, { message: 'host must be a host name or IPv4 address' })
  host?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  port?: number;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  algorithm?: string;

  /** null goes back to --upstream.aggregation. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65536)
  aggregation?: number | null;
}
