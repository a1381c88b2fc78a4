import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { UNKNOWN_ALGORITHM } from './algorithms/share-hashers.js';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isForeignKeyViolation, isUniqueViolation } from '../database/constraint-errors.js';
import { Algorithm } from './algorithm.entity.js';
import { Pool } from './pool.entity.js';
import { CreateAlgorithmDto, UpdateAlgorithmDto } from './dto.js';

@Injectable()
export class AlgorithmsService {
  constructor(
    @InjectRepository(Algorithm) private readonly algorithms: Repository<Algorithm>,
    @InjectRepository(Pool) private readonly pools: Repository<Pool>,
  ) {}

  list(): Promise<Algorithm[]> {
    return this.algorithms.find({ order: { name: 'ASC' } });
  }

  async get(id: number): Promise<Algorithm> {
    const algorithm = await this.algorithms.findOneBy({ id });
    if (!algorithm) throw new NotFoundException(`algorithm ${id} does not exist`);
    return algorithm;
  }

  async findByName(name: string): Promise<Algorithm | null> {
    return this.algorithms.findOneBy({ name: name.toLowerCase() });
  }

  async create(dto: CreateAlgorithmDto): Promise<Algorithm> {
    return this.save(this.algorithms.create({ name: dto.name.toLowerCase(), divider: dto.divider }));
  }

  async update(id: number, dto: UpdateAlgorithmDto): Promise<Algorithm> {
    const algorithm = await this.get(id);
    this.refuseUnknown(algorithm);
    if (dto.name !== undefined) algorithm.name = dto.name.toLowerCase();
    if (dto.divider !== undefined) algorithm.divider = dto.divider;
    return this.save(algorithm);
  }

  async remove(id: number): Promise<void> {
    const algorithm = await this.get(id);
    this.refuseUnknown(algorithm);
    const inUse = await this.pools.countBy({ algorithm: { id } });
    if (inUse > 0) throw new ConflictException(`algorithm ${algorithm.name} is used by ${inUse} pool(s)`);
    try {
      await this.algorithms.delete({ id });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw new ConflictException(`algorithm ${algorithm.name} is in use`);
      throw error;
    }
  }

  /** The placeholder of pools whose algorithm is not known yet cannot be changed or removed. */
  private refuseUnknown(algorithm: Algorithm): void {
    if (algorithm.name === UNKNOWN_ALGORITHM)
      throw new BadRequestException('the placeholder algorithm "unknown" cannot be changed or deleted');
  }

  private async save(algorithm: Algorithm): Promise<Algorithm> {
    try {
      return await this.algorithms.save(algorithm);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictException(`algorithm ${algorithm.name} already exists`);
      throw error;
    }
  }
}
