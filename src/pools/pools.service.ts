import { BadRequestException, ConflictException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { isForeignKeyViolation, isUniqueViolation } from '../database/constraint-errors.js';
import { AlgorithmsService } from './algorithms.service.js';
import { CreatePoolDto, UpdatePoolDto } from './dto.js';
import { Pool } from './pool.entity.js';
import { UNKNOWN_ALGORITHM } from './algorithms/share-hashers.js';
import { PoolChanges } from './pool-changes.js';

/** The registry of supported pools: host:port decides the algorithm, as in the original. */
@Injectable()
export class PoolsService {
  private readonly logger = new Logger(PoolsService.name);
  /** Extranonce2 sizes learned (or being stored) per pool id: one write per change, not per connection. */
  private readonly learnedSizes = new Map<number, number>();
  private readonly sizeListeners: (() => void)[] = [];

  constructor(
    @InjectRepository(Pool) private readonly pools: Repository<Pool>,
    private readonly algorithms: AlgorithmsService,
    private readonly changes: PoolChanges,
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

  /** A pool registered by a user under --pools.allowUnknown: its algorithm is detected later; SV2 with the key of its URL. */
  async createUnknown(host: string, port: number, tls = false, authorityPubkey: string | null = null): Promise<Pool> {
    const unknown = await this.algorithmNamed(UNKNOWN_ALGORITHM);
    try {
      return await this.pools.save(
        this.pools.create({
          host: host.toLowerCase(),
          port,
          algorithm: unknown,
          detectedAt: null,
          aggregation: null,
          extranonce2Size: null,
          tls,
          tlsFingerprint: null,
          protocol: authorityPubkey === null ? 'sv1' : 'sv2',
          authorityPubkey,
        }),
      );
    } catch (error) {
      // Registered concurrently: use the row that won.
      const existing = isUniqueViolation(error) ? await this.findByAddress(host, port) : null;
      if (existing) return existing;
      throw error;
    }
  }

  /** Stores a detected algorithm for a pool whose algorithm was unknown. */
  async recordDetectedAlgorithm(id: number, algorithmName: string): Promise<Pool> {
    const pool = await this.get(id);
    pool.algorithm = await this.algorithmNamed(algorithmName);
    pool.detectedAt = new Date();
    const saved = await this.pools.save(pool);
    this.changes.emit(saved);
    return saved;
  }

  async create(dto: CreatePoolDto): Promise<Pool> {
    const pool = this.pools.create({
      host: dto.host.toLowerCase(),
      port: dto.port,
      algorithm: await this.algorithmNamed(dto.algorithm),
      aggregation: dto.aggregation ?? null,
      extranonce2Size: null,
      tlsFingerprint: normalizeFingerprint(dto.tlsFingerprint),
    });
    // A pinned fingerprint only means something over TLS, an authority key only over SV2.
    pool.tls = dto.tls ?? pool.tlsFingerprint !== null;
    pool.authorityPubkey = dto.authorityPubkey?.trim() ?? null;
    pool.protocol = dto.protocol ?? (pool.authorityPubkey !== null ? 'sv2' : 'sv1');
    pool.workerNames = dto.workerNames ?? 'account';
    checkProtocol(pool);
    return this.save(pool);
  }

  async update(id: number, dto: UpdatePoolDto): Promise<Pool> {
    const pool = await this.get(id);
    if (dto.host !== undefined) pool.host = dto.host.toLowerCase();
    if (dto.port !== undefined) pool.port = dto.port;
    if (dto.algorithm !== undefined) {
      pool.algorithm = await this.algorithmNamed(dto.algorithm);
      pool.detectedAt = null; // set by hand from now on
    }
    if (dto.aggregation !== undefined) pool.aggregation = dto.aggregation;
    if (dto.tlsFingerprint !== undefined) pool.tlsFingerprint = normalizeFingerprint(dto.tlsFingerprint);
    if (dto.tls !== undefined) pool.tls = dto.tls;
    else if (dto.tlsFingerprint) pool.tls = true;
    if (dto.authorityPubkey !== undefined) pool.authorityPubkey = dto.authorityPubkey?.trim() ?? null;
    if (dto.protocol !== undefined) pool.protocol = dto.protocol;
    else if (dto.authorityPubkey) pool.protocol = 'sv2';
    // Back to SV1: the key goes with it, unless given again (which checkProtocol refuses).
    if (dto.protocol === 'sv1' && dto.authorityPubkey === undefined) pool.authorityPubkey = null;
    if (dto.workerNames !== undefined) pool.workerNames = dto.workerNames;
    checkProtocol(pool);
    const saved = await this.save(pool);
    this.changes.emit(saved);
    return saved;
  }

  /**
   * Stores the extranonce2 size a pool gave at subscribe, when it changed: miners' extranonce2 is sized
   * from it at their next subscribe (before their pool is known). Off the share path: written in the background.
   */
  learnExtranonce2Size(pool: Pool, size: number): void {
    if ((this.learnedSizes.get(pool.id) ?? pool.extranonce2Size) === size) return;
    this.learnedSizes.set(pool.id, size);
    pool.extranonce2Size = size;
    this.pools.update({ id: pool.id }, { extranonce2Size: size }).then(
      () => {
        this.logger.log(`pool ${pool.address}: extranonce2 size ${size} learned`);
        for (const listener of this.sizeListeners) listener();
      },
      (error: Error) => {
        this.learnedSizes.delete(pool.id);
        this.logger.warn(`pool ${pool.address}: could not store its extranonce2 size (${error.message})`);
      },
    );
  }

  /** Called after a learned extranonce2 size was stored. */
  onExtranonce2SizeLearned(listener: () => void): void {
    this.sizeListeners.push(listener);
  }

  /** Users reference pools with ON DELETE RESTRICT, so a pool in use cannot go: 409. */
  async remove(id: number): Promise<void> {
    const pool = await this.get(id);
    try {
      await this.pools.delete({ id });
    } catch (error) {
      if (isForeignKeyViolation(error))
        throw new ConflictException(`pool ${pool.address} is in use by registered users (or their backups)`);
      throw error;
    }
  }

  private async algorithmNamed(name: string) {
    const algorithm = await this.algorithms.findByName(name);
    if (!algorithm) {
      const known = (await this.algorithms.list()).map((a) => a.name).filter((n) => n !== UNKNOWN_ALGORITHM);
      throw new BadRequestException(`algorithm ${name} does not exist; the known algorithms are: ${known.join(', ')}`);
    }
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

/** The protocol fields agree: SV2 needs its authority key and has no TLS (Noise encrypts it); SV1 has no key. */
function checkProtocol(pool: Pool): void {
  if (pool.protocol === 'sv2') {
    if (!pool.authorityPubkey)
      throw new BadRequestException('authorityPubkey is required for an SV2 pool: the base58check key the pool publishes');
    if (pool.tls || pool.tlsFingerprint)
      throw new BadRequestException(
        'tls and tlsFingerprint do not apply to an SV2 pool: its Noise handshake encrypts and authenticates it',
      );
  } else if (pool.authorityPubkey) {
    throw new BadRequestException('authorityPubkey applies to SV2 pools only: send "protocol": "sv2" with it');
  }
}

/** Fingerprints are stored as 64 lower-case hex digits, whichever way they were written. */
function normalizeFingerprint(value: string | null | undefined): string | null {
  return value ? value.replace(/:/g, '').toLowerCase() : null;
}
