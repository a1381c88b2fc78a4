import { IsDefined, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** host:port with a port from 1 to 65535. */
export const POOL_ADDRESS =
  /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

/** The original's registration body. Unknown fields are ignored; an empty or missing password is allowed. */
export class RegisterUserDto {
  @IsDefined({ message: 'pool is required ("host:port")' })
  @IsString({ message: 'pool must be a string "host:port"' })
  @MaxLength(256, { message: 'pool must be at most 256 characters' })
  @Matches(POOL_ADDRESS, { message: 'pool must be "host:port" with a port from 1 to 65535' })
  pool: string;

  @IsDefined({ message: 'user is required' })
  @IsString({ message: 'user must be a string' })
  @IsNotEmpty({ message: 'user must not be empty' })
  @MaxLength(256, { message: 'user must be at most 256 characters' })
  user: string;

  @IsOptional()
  @IsString({ message: 'password must be a string' })
  @MaxLength(256, { message: 'password must be at most 256 characters' })
  password?: string;
}
