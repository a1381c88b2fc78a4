import { Counter, Gauge, Histogram, register } from 'prom-client';
import { MetricsController } from './metrics.controller.js';

describe('MetricsController', () => {
  afterEach(() => {
    register.removeSingleMetric('spec_shares_total');
    register.removeSingleMetric('spec_speed');
    register.removeSingleMetric('spec_round_trip_seconds');
  });

  it('serves exactly what prom-client renders, and lets other work run while it builds the text', async () => {
    const shares = new Counter({ name: 'spec_shares_total', help: 'shares "quoted"\nand a newline', labelNames: ['user', 'pool'] });
    const speed = new Gauge({ name: 'spec_speed', help: 'speed', labelNames: ['worker'] });
    for (let i = 0; i < 500; i++) speed.set({ worker: `10.0.0.${i % 250}:${4000 + i}` }, i * 1.5);
    shares.inc({ user: 'a\\b', pool: 'p:1' }, 3);
    shares.inc({ user: 'quote"and\nnewline', pool: 'p:2' }, 0.5);
    speed.set({ worker: 'nan' }, Number.NaN);
    speed.set({ worker: 'inf' }, Number.POSITIVE_INFINITY);
    speed.set({ worker: '-inf' }, Number.NEGATIVE_INFINITY);
    new Histogram({ name: 'spec_round_trip_seconds', help: 'rtt', labelNames: ['pool'], buckets: [0.1, 1] }).observe({ pool: 'p:1' }, 0.5);
    const headers: Record<string, string> = {};
    const chunks: string[] = [];
    let ended = false;
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    await new MetricsController().index({
      status: () => undefined,
      setHeader: (name: string, value: string) => (headers[name] = value),
      write: (chunk: string) => chunks.push(chunk) > 0,
      end: () => (ended = true),
      once: () => undefined,
    });
    const text = chunks.join('');
    expect(ended).toBe(true);
    expect(chunks.length).toBeGreaterThan(3); // written a metric at a time, not as one body
    expect(text).toBe(await register.metrics());
    expect(text).toContain('spec_shares_total{user="a\\\\b",pool="p:1"} 3');
    expect(headers['Content-Type']).toBe(register.contentType);
    expect(otherWorkRan).toBe(true);
  });
});
