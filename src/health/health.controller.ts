import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { ProxyState } from './proxy-state.js';

/**
 * Liveness and readiness for orchestrators and load balancers (outside /api/v1, never rate limited). Both
 * are cheap and independent of the number of workers, unlike a /metrics scrape.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly state: ProxyState,
  ) {}

  /** The process answers: 200. */
  @Get('healthz')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Ready for miners: database reachable, Stratum listening, not draining; else 503 saying which. */
  @Get('readyz')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 2000 }),
      () => {
        const stratum = this.indicators.check('stratum');
        if (this.state.draining) return stratum.down({ reason: 'draining: not accepting miners' });
        return this.state.stratumListening ? stratum.up() : stratum.down({ reason: 'not listening' });
      },
    ]);
  }
}
