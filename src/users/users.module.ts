import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PoolsModule } from '../pools/pools.module.js';
import { User } from './user.entity.js';
import { UserBackup } from './user-backup.entity.js';
import { UserRoute } from './user-route.entity.js';
import { UsersController } from './users.controller.js';
import { UserExpiry } from './user-expiry.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([User, UserBackup, UserRoute]), PoolsModule],
  controllers: [UsersController],
  providers: [UsersService, UserExpiry],
  exports: [UsersService],
})
export class UsersModule {}
