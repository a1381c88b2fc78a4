import {
  IsBoolean,
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
} from 'class-validator';

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

export class CreatePoolDto extends PoolTlsFields {
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

export class UpdatePoolDto extends PoolTlsFields {
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
