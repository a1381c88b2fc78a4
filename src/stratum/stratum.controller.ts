import { Controller, UseFilters } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { StratumError, StratumErrorCode } from '../protocol/errors.js';
import { decodeAuthorize, decodeConfigure, decodeSubscribe, decodeSuggestDifficulty } from '../protocol/miner-messages.js';
import { MinerSessions } from './session/miner-sessions.service.js';
import { StratumContext } from './transport/stratum.context.js';
import { RethrowErrorsFilter } from './transport/rethrow-errors.filter.js';
import { STRATUM } from './transport/stratum-server.js';

const notSubscribed = () => new StratumError(StratumErrorCode.NotSubscribed, 'not subscribed');

/**
 * The Stratum methods miners call. A handler returns the result, a StratumError, or undefined when the
 * session answers by itself later (authorize waits for the pool; submit for the pool's verdict).
 */
@Controller()
@UseFilters(RethrowErrorsFilter)
export class StratumController {
  constructor(private readonly sessions: MinerSessions) {}

  @MessagePattern('mining.subscribe', STRATUM)
  subscribe(@Payload() params: unknown, @Ctx() context: StratumContext): unknown {
    return this.sessions.subscribe(context.getConnection(), decodeSubscribe(params));
  }

  @MessagePattern('mining.authorize', STRATUM)
  async authorize(@Payload() params: unknown, @Ctx() context: StratumContext): Promise<StratumError | undefined> {
    const session = this.sessions.existingFor(context.getConnection());
    if (!session || session.state === 'connected') return notSubscribed();
    await session.authorize(context.getRequest().id, decodeAuthorize(params));
    return undefined;
  }

  @MessagePattern('mining.submit', STRATUM)
  submit(@Payload() params: unknown, @Ctx() context: StratumContext): StratumError | Promise<StratumError | undefined> {
    const session = this.sessions.existingFor(context.getConnection());
    if (!session || session.state === 'connected') return notSubscribed();
    return session.submit(context.getRequest().id, params);
  }

  @MessagePattern('mining.configure', STRATUM)
  configure(@Payload() params: unknown, @Ctx() context: StratumContext): unknown {
    return this.sessions.forConnection(context.getConnection()).configure(decodeConfigure(params));
  }

  @MessagePattern('mining.extranonce.subscribe', STRATUM)
  extranonceSubscribe(@Ctx() context: StratumContext): boolean {
    this.sessions.forConnection(context.getConnection()).extranonceSubscribed = true;
    return true;
  }

  @MessagePattern('mining.suggest_difficulty', STRATUM)
  suggestDifficulty(@Payload() params: unknown, @Ctx() context: StratumContext): boolean {
    this.sessions.forConnection(context.getConnection()).suggestDifficulty(decodeSuggestDifficulty(params));
    return true;
  }
}
