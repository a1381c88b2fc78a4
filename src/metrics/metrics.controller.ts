import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * GET /metrics, the same text as prom-client's `register.metrics()`, built one metric at a time with the
 * event loop let in between: with thousands of workers a scrape is tens of thousands of lines, and built
 * in one go it would hold up every miner's shares for the whole of it.
 */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override async index(@Res({ passthrough: true }) response: { header(name: string, value: string): unknown }): Promise<string> {
    response.header('Content-Type', register.contentType);
    const parts: string[] = [];
    for (const metric of register.getMetricsAsArray()) {
      parts.push(await register.getSingleMetricAsString(metric.name));
      await nextTurn();
    }
    return `${parts.join('\n\n')}\n`;
  }
}
