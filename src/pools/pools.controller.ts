import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Patch, Post, UseGuards } from '@nestjs/common';
import { ApiThrottlerGuard } from '../api/rate-limits.js';
import { ManagementTokenGuard } from '../api/management-token.guard.js';
import { Algorithm } from './algorithm.entity.js';
import { UNKNOWN_ALGORITHM } from './algorithms/share-hashers.js';
import { AlgorithmsService } from './algorithms.service.js';
import { CreateAlgorithmDto, CreatePoolDto, UpdateAlgorithmDto, UpdatePoolDto } from './dto.js';
import { Pool, type PoolProtocol, type WorkerNames } from './pool.entity.js';
import { PoolsService } from './pools.service.js';

export interface PoolView {
  id: number;
  host: string;
  port: number;
  pool: string;
  algorithm: string;
  divider: number | null;
  /** When the algorithm was detected from shares; null when set by hand or seeded. */
  detectedAt: string | null;
  /** Most miners per pool connection for this pool; null: the proxy's --upstream.aggregation. */
  aggregation: number | null;
  /** The extranonce2 size the pool gave at its last subscribe; null until the proxy has connected to it. */
  extranonce2Size: number | null;
  /** Reached over TLS; with `tlsFingerprint`, pinned to that certificate (SHA-256, hex) instead of the CAs. */
  tls: boolean;
  tlsFingerprint: string | null;
  /** The protocol the proxy speaks to the pool: sv1 or sv2 (with the authority key its certificates must be signed with). */
  protocol: PoolProtocol;
  authorityPubkey: string | null;
  /** How the pool sees the miners: `account` (one worker) or `rig` (each rig as `account.rig`, SV1 pools). */
  workerNames: WorkerNames;
}

export const poolView = (pool: Pool): PoolView => ({
  id: pool.id,
  host: pool.host,
  port: pool.port,
  pool: pool.address,
  algorithm: pool.algorithm.name,
  divider: pool.algorithm.name === UNKNOWN_ALGORITHM ? null : pool.algorithm.divider,
  detectedAt: pool.detectedAt ? pool.detectedAt.toISOString() : null,
  aggregation: pool.aggregation ?? null,
  extranonce2Size: pool.extranonce2Size ?? null,
  tls: pool.tls ?? false,
  tlsFingerprint: pool.tlsFingerprint ?? null,
  protocol: pool.protocol ?? 'sv1',
  authorityPubkey: pool.authorityPubkey ?? null,
  workerNames: pool.workerNames ?? 'account',
});

const algorithmView = (algorithm: Algorithm) => ({ id: algorithm.id, name: algorithm.name, divider: algorithm.divider });

const idParam = () => new ParseIntPipe({ errorHttpStatusCode: 400 });

/** Pools: listing is public (a sign-up page can show them), changes need the management token. */
@Controller('pools')
@UseGuards(ApiThrottlerGuard)
export class PoolsController {
  constructor(private readonly pools: PoolsService) {}

  @Get()
  async list(): Promise<PoolView[]> {
    return (await this.pools.list()).map(poolView);
  }

  @Get(':id')
  async get(@Param('id', idParam()) id: number): Promise<PoolView> {
    return poolView(await this.pools.get(id));
  }

  @Post()
  @UseGuards(ManagementTokenGuard)
  async create(@Body() dto: CreatePoolDto): Promise<PoolView> {
    return poolView(await this.pools.create(dto));
  }

  @Patch(':id')
  @UseGuards(ManagementTokenGuard)
  async update(@Param('id', idParam()) id: number, @Body() dto: UpdatePoolDto): Promise<PoolView> {
    return poolView(await this.pools.update(id, dto));
  }

  @Delete(':id')
  @UseGuards(ManagementTokenGuard)
  @HttpCode(200)
  async remove(@Param('id', idParam()) id: number): Promise<{ deleted: number }> {
    await this.pools.remove(id);
    return { deleted: id };
  }
}

@Controller('algorithms')
@UseGuards(ApiThrottlerGuard)
export class AlgorithmsController {
  constructor(private readonly algorithms: AlgorithmsService) {}

  @Get()
  async list() {
    return (await this.algorithms.list()).map(algorithmView);
  }

  @Get(':id')
  async get(@Param('id', idParam()) id: number) {
    return algorithmView(await this.algorithms.get(id));
  }

  @Post()
  @UseGuards(ManagementTokenGuard)
  async create(@Body() dto: CreateAlgorithmDto) {
    return algorithmView(await this.algorithms.create(dto));
  }

  @Patch(':id')
  @UseGuards(ManagementTokenGuard)
  async update(@Param('id', idParam()) id: number, @Body() dto: UpdateAlgorithmDto) {
    return algorithmView(await this.algorithms.update(id, dto));
  }

  @Delete(':id')
  @UseGuards(ManagementTokenGuard)
  @HttpCode(200)
  async remove(@Param('id', idParam()) id: number): Promise<{ deleted: number }> {
    await this.algorithms.remove(id);
    return { deleted: id };
  }
}
