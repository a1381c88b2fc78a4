import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isForeignKeyViolation, isUniqueViolation } from '../database/constraint-errors.js';
import { AlgorithmsService } from './algorithms.service.js';
import { CreatePoolDto, UpdatePoolDto } from './dto.js';
import { Pool } from './pool.entity.js';

/** The registry of supported pools: host:port decides the algorithm, as in the original. */
@Injectable()
export class PoolsService {
  constructor(
    @InjectRepository(Pool) private readonly pools: Repository<Pool>,
    private readonly algorithms: AlgorithmsService,
  ) {}

  list(): Promise<Pool[]> {
    return this.pools.find({ order: { host: 'ASC', port: 'ASC' } });
  }

  async get(id: number): Promise<Pool> {
    const pool = await this.pools.findOneBy({ id });
    if (!pool) throw new NotFoundException(`pool ${id} does not exist`);
    return pool;
  }

  /** Looks a pool up by host (ignoring case) and port. */
  findByAddress(host: string, port: number): Promise<Pool | null> {
    return this.pools.findOneBy({ host: host.toLowerCase(), port });
  }

  async create(dto: CreatePoolDto): Promise<Pool> {
    const pool = this.pools.create({ host: dto.host.toLowerCase(), port: dto.port, algorithm: await this.algorithmNamed(dto.algorithm) });
    return this.save(pool);
  }

  async update(id: number, dto: UpdatePoolDto): Promise<Pool> {
    const pool = await this.get(id);
    if (dto.host !== undefined) pool.host = dto.host.toLowerCase();
    if (dto.port !== undefined) pool.port = dto.port;
    if (dto.algorithm !== undefined) pool.algorithm = await this.algorithmNamed(dto.algorithm);
    return this.save(pool);
  }

  /** Users reference pools with ON DELETE RESTRICT, so a pool in use cannot go: 409. */
  async remove(id: number): Promise<void> {
    const pool = await this.get(id);
    try {
      await this.pools.delete({ id });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new ConflictException(`pool ${pool.address} is in use by registered users`);
      throw error;
    }
  }

  private async algorithmNamed(name: string) {
    const algorithm = await this.algorithms.findByName(name);
    if (!algorithm) throw new BadRequestException(`algorithm ${name} does not exist`);
    return algorithm;
  }

  private async save(pool: Pool): Promise<Pool> {
    try {
      return await this.pools.save(pool);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`pool ${pool.address} already exists`);
      throw error;
    }
  }
}
