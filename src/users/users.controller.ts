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
import { RegisterUserDto, ReplaceBackupsDto, ReplaceRoutesDto, RouteDto } from './register-user.dto.js';
import { User } from './user.entity.js';
import { accountsOf, InvalidAccountError, routesOf, UnsupportedPoolError, UsersService } from './users.service.js';

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
  routes: routesOf(user).map((route) => ({
    weight: route.weight,
    accounts: route.accounts.map((account) => ({ pool: account.pool.address, user: account.accountUser })),
  })),
});

/** Routes 1, 2, ... of a body, as the service takes them. */
const furtherRoutes = (routes: readonly RouteDto[]) =>
  routes
    .slice(1)
    .map((route) => ({ weight: route.weight, pool: route.pool, user: route.user, password: route.password, backups: route.backups }));

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
      const { user, created } = dto.routes
        ? await this.registerRoutes(dto, dto.routes)
        : await this.users.register(dto.pool, dto.user, dto.password ?? '', dto.backups);
      response.status(created ? 201 : 200);
      return { name: user.name, error: '' };
    } catch (error) {
      throw clientError(error);
    }
  }

  /** A body with routes: route 0 is the name's own account (its pool, user and password identify the name). */
  private registerRoutes(dto: RegisterUserDto, routes: RouteDto[]) {
    if (dto.pool !== undefined || dto.user !== undefined || dto.backups !== undefined)
      throw new InvalidAccountError('give either routes or pool, user and backups, not both');
    const [first] = routes;
    return this.users.register(first.pool, first.user, first.password ?? '', first.backups, {
      weight: first.weight,
      routes: furtherRoutes(routes),
    });
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

  /**
   * Replaces a name's routes: routes[0] must be the name's own account (pool and user as registered); its
   * weight and backups, and every further route, are replaced. Miners follow at the router's next tick.
   */
  @Put(':name/routes')
  @UseGuards(ManagementTokenGuard)
  async replaceRoutes(@Param('name') name: string, @Body() dto: ReplaceRoutesDto) {
    try {
      const user = await this.users.find(name);
      if (!user) throw new NotFoundException(`user ${name} does not exist`);
      const [first] = dto.routes;
      const own = accountsOf(user)[0];
      if (first.user !== own.accountUser || !samePool(first.pool, own.pool.address))
        throw new InvalidAccountError(`routes[0]: must be the name's own account (pool ${own.pool.address}, user ${own.accountUser})`);
      return userView(await this.users.replaceRoutes(user.name, first.weight, first.backups, furtherRoutes(dto.routes)));
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

/** "stratum+tcp://host:port" and "host:port" name the same pool (case-insensitive host). */
function samePool(written: string, address: string): boolean {
  return (
    written
      .replace(/^stratum2?\+(?:tcp|ssl|tls):\/\//, '')
      .replace(/\/.*$/, '')
      .toLowerCase() === address.toLowerCase()
  );
}
