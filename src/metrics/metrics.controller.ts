import { Controller, Get, Res } from '@nestjs/common';
import { type Metric, type MetricObject, register } from 'prom-client';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** The part of an HTTP response the scrape writes to (express's, in the app). */
export interface ScrapeResponse {
  status(code: number): unknown;
  setHeader(name: string, value: string): unknown;
  write(chunk: string): boolean;
  end(): unknown;
  readonly destroyed?: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/** Lines rendered between two turns of the event loop. */
const LINES_PER_TURN = 1000;

/**
 * GET /metrics: the same text as prom-client's `register.metrics()` (but for float noise: valueText), rendered with the event loop let in
 * every LINES_PER_TURN lines and written to the client one metric at a time. With thousands of workers a
 * scrape is tens of thousands of lines; rendered in one go it held up every miner's shares for the whole
 * of it (270 ms for 9,900 workers), and encoding the joined 10 MB body alone took about 80 ms.
 */
@Controller()
export class MetricsController {
  // Not PrometheusController's subclass: its `index` takes the response in passthrough mode, and Nest then
  // answered once more after this wrote the text itself ("Cannot set headers after they are sent").
  @Get()
  async index(@Res() response: ScrapeResponse): Promise<void> {
    response.status(200);
    response.setHeader('Content-Type', register.contentType);
    let first = true;
    for (const metric of register.getMetricsAsArray()) {
      const text = await renderMetric(metric);
      if (response.destroyed) return; // the scraper went away
      // A client that reads slowly holds the rest back instead of growing the proxy's memory.
      if (!response.write(first ? text : `\n\n${text}`)) await drained(response);
      first = false;
      await nextTurn();
    }
    response.write('\n');
    response.end();
  }
}

/**
 * Resolves when the response can take more, or is closed. The listener that did not fire goes too: a large
 * scrape waits many times, and each wait left a `close` listener on the response.
 */
function drained(response: ScrapeResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/** One metric in the Prometheus text format as prom-client renders it (no default labels are used), values by valueText. */
async function renderMetric(metric: MetricObject): Promise<string> {
  // Histograms share their `le` labels in a form only prom-client renders; they have a series per pool, not per worker.
  if (typeof (metric as { getForPromString?: unknown }).getForPromString === 'function')
    return register.getSingleMetricAsString(metric.name);
  const data = await (metric as unknown as Metric).get();
  const name = escapeText(data.name);
  const lines = [`# HELP ${name} ${escapeText(data.help)}`, `# TYPE ${name} ${data.type}`];
  for (const sample of data.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
    lines.push(`${sample.metricName ?? name}${labelsText(sample.labels)} ${valueText(sample.value)}`);
    if (lines.length % LINES_PER_TURN === 0) await nextTurn();
  }
  return lines.join('\n');
}

/**
 * `{name="value",...}` of a labels object, or '' for none. The accounting hands the same object scrape after
 * scrape (a worker's labels, prom-client's stored series), so its text is kept with it: rendering every
 * label again was most of a scrape's work and garbage (about 1 KB per line). Label objects are replaced,
 * never changed in place.
 */
const renderedLabels = new WeakMap<object, string>();

function labelsText(labels: Record<string, string | number> | undefined): string {
  if (!labels) return '';
  let text = renderedLabels.get(labels);
  if (text === undefined) {
    text = '';
    for (const label in labels) {
      const value = labels[label];
      text += `${text === '' ? '' : ','}${label}="${typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : value}"`;
    }
    if (text !== '') text = `{${text}}`;
    renderedLabels.set(labels, text);
  }
  return text;
}

function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/**
 * A sample's value as prom-client writes it (the shortest text that parses back to the same double), except
 * float noise: a value within the 15 digits a double holds of a decimal of at most 10 digits is written as
 * that decimal (0.047 for 47 shares of 0.001, not 0.047000000000000035). Others, integers among them, exact.
 */
export function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  if (Number.isInteger(value)) return `${value}`;
  const rounded = Number(value.toPrecision(15));
  return `${Number(value.toPrecision(10)) === rounded ? rounded : value}`;
}
