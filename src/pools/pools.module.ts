import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Algorithm } from './algorithm.entity.js';
import { AlgorithmsService } from './algorithms.service.js';
import { Pool } from './pool.entity.js';
import { AlgorithmsController, PoolsController } from './pools.controller.js';
import { PoolsService } from './pools.service.js';
import { UpstreamService } from './upstream/upstream.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([Algorithm, Pool])],
  controllers: [PoolsController, AlgorithmsController],
  providers: [PoolsService, AlgorithmsService, UpstreamService],
  exports: [PoolsService, AlgorithmsService, UpstreamService],
})
export class PoolsModule {}
