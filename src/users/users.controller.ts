import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Put,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { Response } from 'express';
import { ApiThrottlerGuard } from '../api/rate-limits.js';
import { ManagementTokenGuard, RegistrationTokenGuard } from '../api/management-token.guard.js';
import { RegisterUserDto, ReplaceBackupsDto } from './register-user.dto.js';
import { User } from './user.entity.js';
import { accountsOf, InvalidAccountError, UnsupportedPoolError, UsersService } from './users.service.js';

/** What the API shows of a user: never an account password. */
export const userView = (user: User) => ({
  name: user.name,
  pool: user.pool.address,
  algorithm: user.pool.algorithm.name,
  user: user.accountUser,
  createdAt: user.createdAt.toISOString(),
  lastSeenAt: user.lastSeenAt ? user.lastSeenAt.toISOString() : null,
  backups: accountsOf(user)
    .slice(1)
    .map((backup) => ({ pool: backup.pool.address, user: backup.accountUser })),
});

/** Registration errors the client can fix: 404 for an unsupported pool (as the original), 400 for a bad backup. */
function clientError(error: unknown): unknown {
  if (error instanceof UnsupportedPoolError) return new NotFoundException(error.message);
  if (error instanceof InvalidAccountError) return new BadRequestException(error.message);
  return error;
}

@Controller('users')
@UseGuards(ApiThrottlerGuard)
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** POST (and PUT, as the original accepted): 201 when created, 200 with the same name when already registered. */
  @Post()
  @UseGuards(RegistrationTokenGuard)
  async register(@Body() dto: RegisterUserDto, @Res({ passthrough: true }) response: Response): Promise<{ name: string; error: string }> {
    try {
      const { user, created } = await this.users.register(dto.pool, dto.user, dto.password ?? '', dto.backups);
      response.status(created ? 201 : 200);
      return { name: user.name, error: '' };
    } catch (error) {
      throw clientError(error);
    }
  }

  @Put()
  @UseGuards(RegistrationTokenGuard)
  registerByPut(@Body() dto: RegisterUserDto, @Res({ passthrough: true }) response: Response): Promise<{ name: string; error: string }> {
    return this.register(dto, response);
  }

  @Get()
  @UseGuards(ManagementTokenGuard)
  async list() {
    return (await this.users.list()).map(userView);
  }

  /** Replaces a name's backup accounts, in failover order; miners use them from their next authorize. */
  @Put(':name/backups')
  @UseGuards(ManagementTokenGuard)
  async replaceBackups(@Param('name') name: string, @Body() dto: ReplaceBackupsDto) {
    try {
      return userView(await this.users.replaceBackups(name, dto.backups));
    } catch (error) {
      throw clientError(error);
    }
  }

  @Delete(':name')
  @UseGuards(ManagementTokenGuard)
  @HttpCode(200)
  async remove(@Param('name') name: string): Promise<{ deleted: string }> {
    await this.users.remove(name);
    return { deleted: name.toLowerCase() };
  }
}
