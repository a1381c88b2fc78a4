import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { ProxyState } from './proxy-state.js';

/** GET /healthz and /readyz (with @nestjs/terminus), and the process state they read. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ProxyState],
  exports: [ProxyState],
})
export class HealthModule {}
