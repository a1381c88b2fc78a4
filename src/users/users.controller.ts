import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post, Put, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ManagementTokenGuard } from '../api/management-token.guard.js';
import { RegisterUserDto } from './register-user.dto.js';
import { User } from './user.entity.js';
import { UnsupportedPoolError, UsersService } from './users.service.js';

/** What the API shows of a user: never the account password. */
export const userView = (user: User) => ({
  name: user.name,
  pool: user.pool.address,
  algorithm: user.pool.algorithm.name,
  user: user.accountUser,
  createdAt: user.createdAt.toISOString(),
  lastSeenAt: user.lastSeenAt ? user.lastSeenAt.toISOString() : null,
});

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** POST (and PUT, as the original accepted): 201 when created, 200 with the same name when already registered. */
  @Post()
  async register(@Body() dto: RegisterUserDto, @Res({ passthrough: true }) response: Response): Promise<{ name: string; error: string }> {
    try {
      const { user, created } = await this.users.register(dto.pool, dto.user, dto.password ?? '');
      response.status(created ? 201 : 200);
      return { name: user.name, error: '' };
    } catch (error) {
      if (error instanceof UnsupportedPoolError) throw new NotFoundException(error.message);
      throw error;
    }
  }

  @Put()
  registerByPut(@Body() dto: RegisterUserDto, @Res({ passthrough: true }) response: Response): Promise<{ name: string; error: string }> {
    return this.register(dto, response);
  }

  @Get()
  @UseGuards(ManagementTokenGuard)
  async list() {
    return (await this.users.list()).map(userView);
  }

  @Delete(':name')
  @UseGuards(ManagementTokenGuard)
  @HttpCode(200)
  async remove(@Param('name') name: string): Promise<{ deleted: string }> {
    await this.users.remove(name);
    return { deleted: name.toLowerCase() };
  }
}
