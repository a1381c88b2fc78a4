import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Algorithm } from './algorithm.entity.js';
import { AlgorithmsService } from './algorithms.service.js';
import { Pool } from './pool.entity.js';
import { AlgorithmsController, PoolsController } from './pools.controller.js';
import { PoolsService } from './pools.service.js';
import { PoolChanges } from './pool-changes.js';
import { AlgorithmDetector } from './algorithms/algorithm-detector.js';

@Module({
  imports: [TypeOrmModule.forFeature([Algorithm, Pool])],
  controllers: [PoolsController, AlgorithmsController],
  providers: [PoolsService, AlgorithmsService, PoolChanges, AlgorithmDetector],
  exports: [PoolsService, AlgorithmsService, PoolChanges, AlgorithmDetector],
})
export class PoolsModule {}
