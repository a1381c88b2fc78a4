import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { MetricsController } from './metrics.controller.js';
import { METRIC_PROVIDERS } from './proxy-metrics.js';

/**
 * Prometheus text at GET /metrics (outside /api/v1). Default process and Node.js metrics live on the global
 * registry, which can hold them only once per process (tests build the app many times).
 */
@Global()
@Module({
  imports: [
    PrometheusModule.register({
      path: '/metrics',
      controller: MetricsController,
      defaultMetrics: { enabled: register.getSingleMetric('process_cpu_user_seconds_total') === undefined },
    }),
  ],
  providers: METRIC_PROVIDERS,
  exports: [PrometheusModule, ...METRIC_PROVIDERS],
})
export class MetricsModule {}
