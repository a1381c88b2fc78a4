import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { MetricsController } from './metrics.controller.js';
import { METRIC_PROVIDERS } from './proxy-metrics.js';

/**
 * How often `nodejs_eventloop_lag_*` samples the loop's delay. prom-client's 10 ms woke the idle proxy 100
 * times a second, most of what an empty proxy spent; 10 samples a second still show every stall longer
 * than a tenth of a second and the percentiles of the delay.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

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
      defaultMetrics: {
        enabled: register.getSingleMetric('process_cpu_user_seconds_total') === undefined,
        config: { eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS },
      },
    }),
  ],
  providers: METRIC_PROVIDERS,
  exports: [PrometheusModule, ...METRIC_PROVIDERS],
})
export class MetricsModule {}
