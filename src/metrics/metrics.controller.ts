import { Controller, Get, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { type Metric, type MetricObject, register } from 'prom-client';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Lines rendered between two turns of the event loop. */
const LINES_PER_TURN = 1000;

/**
 * GET /metrics: the same text as prom-client's `register.metrics()`, rendered with the event loop let in
 * every LINES_PER_TURN lines. With thousands of workers a scrape is tens of thousands of lines; rendered in
 * one go it would hold up every miner's shares for the whole of it (270 ms for 9,900 workers here).
 */
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override async index(@Res({ passthrough: true }) response: { header(name: string, value: string): unknown }): Promise<string> {
    response.header('Content-Type', register.contentType);
    const parts: string[] = [];
    for (const metric of register.getMetricsAsArray()) {
      parts.push(await renderMetric(metric));
      await nextTurn();
    }
    return `${parts.join('\n\n')}\n`;
  }
}

/** One metric in the Prometheus text format, exactly as prom-client renders it (no default labels are used). */
async function renderMetric(metric: MetricObject): Promise<string> {
  // Histograms share their `le` labels in a form only prom-client renders; they have a series per pool, not per worker.
  if (typeof (metric as { getForPromString?: unknown }).getForPromString === 'function')
    return register.getSingleMetricAsString(metric.name);
  const data = await (metric as unknown as Metric).get();
  const name = escapeText(data.name);
  const lines = [`# HELP ${name} ${escapeText(data.help)}`, `# TYPE ${name} ${data.type}`];
  for (const sample of data.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
    let labels = '';
    for (const label in sample.labels) {
      const value = sample.labels[label];
      labels += `${labels === '' ? '' : ','}${label}="${typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value}"`;
    }
    lines.push(`${sample.metricName ?? name}${labels === '' ? '' : `{${labels}}`} ${valueText(sample.value)}`);
    if (lines.length % LINES_PER_TURN === 0) await nextTurn();
  }
  return lines.join('\n');
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}
