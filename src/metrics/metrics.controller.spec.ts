import { EventEmitter } from 'node:events';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { MetricsController, valueText } from './metrics.controller.js';

describe('MetricsController', () => {
  afterEach(() => {
    register.removeSingleMetric('spec_shares_total');
    register.removeSingleMetric('spec_speed');
    register.removeSingleMetric('spec_round_trip_seconds');
    register.removeSingleMetric('spec_one_sended');
  });

  const scrape = async () => {
    const chunks: string[] = [];
    await new MetricsController().index({
      status: () => undefined,
      setHeader: () => undefined,
      write: (chunk: string) => chunks.push(chunk) > 0,
      end: () => undefined,
      once: () => undefined,
      off: () => undefined,
    });
    return chunks.join('');
  };

  it('renders values without float noise, and every other value exactly', async () => {
    expect(valueText(0.1 + 0.2)).toBe('0.3');
    expect(valueText(47 * 0.001)).toBe('0.047');
    let sum = 0;
    for (let i = 0; i < 47; i++) sum += 0.001;
    expect(`${sum}`).toBe('0.047000000000000035'); // what a plain sum renders
    expect(valueText(sum)).toBe('0.047');
    expect(valueText(1e-7 + 2e-7)).toBe('3e-7');
    expect(valueText(2 ** 32 / 6)).toBe('715827882.6666666'); // not noise: all its digits are meant
    expect(valueText(32 * 2 ** -20)).toBe('0.000030517578125');
    expect(valueText(2 ** -35)).toBe('2.9103830456733704e-11');
    expect(valueText(0.5)).toBe('0.5');
    expect(valueText(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(valueText(2 ** 64)).toBe('18446744073709552000');
    expect(valueText(0)).toBe('0');
    expect(valueText(-1.25)).toBe('-1.25');
    expect(valueText(Number.NaN)).toBe('Nan');
    expect(valueText(Number.NEGATIVE_INFINITY)).toBe('-Inf');
    // Within the last digit of the value, as a parser reads it back.
    for (const value of [Math.PI, 1 / 3, 123456.789e-12, 98765.4321])
      expect(Math.abs(Number(valueText(value)) / value - 1)).toBeLessThan(1e-14);
    // Through the scrape: a counter added up from 47 shares of 0.001.
    const counter = new Counter({ name: 'spec_one_sended', help: 'difficulty-1 shares', labelNames: ['worker'] });
    for (let i = 0; i < 47; i++) counter.inc({ worker: 'w' }, 0.001);
    expect(await scrape()).toContain('spec_one_sended{worker="w"} 0.047\n');
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
      off: () => undefined,
    });
    const text = chunks.join('');
    expect(ended).toBe(true);
    expect(chunks.length).toBeGreaterThan(3); // written a metric at a time, not as one body
    expect(text).toBe(await register.metrics());
    expect(text).toContain('spec_shares_total{user="a\\\\b",pool="p:1"} 3');
    expect(headers['Content-Type']).toBe(register.contentType);
    expect(otherWorkRan).toBe(true);
  });

  it('a second scrape of the same series, the label texts kept, is what prom-client renders; a changed series shows its change', async () => {
    const speed = new Gauge({ name: 'spec_speed', help: 'speed', labelNames: ['worker', 'user'] });
    for (let i = 0; i < 50; i++) speed.set({ worker: `rig"${i}\\x`, user: 'u' }, i);
    expect(await scrape()).toBe(await register.metrics());
    speed.set({ worker: 'rig"3\\x', user: 'u' }, 99);
    speed.remove({ worker: 'rig"4\\x', user: 'u' });
    speed.set({ worker: 'new', user: 'v' }, 7);
    const again = await scrape();
    expect(again).toBe(await register.metrics());
    expect(again).toContain('spec_speed{worker="rig\\"3\\\\x",user="u"} 99');
    expect(again).not.toContain('rig\\"4\\\\x"');
    expect(again).toContain('spec_speed{worker="new",user="v"} 7');
  });

  it('waits for a slow scraper without leaving listeners on its response', async () => {
    const speed = new Gauge({ name: 'spec_speed', help: 'speed', labelNames: ['worker'] });
    for (let i = 0; i < 50; i++) speed.set({ worker: `w${i}` }, i);
    const response = Object.assign(new EventEmitter(), {
      status: () => undefined,
      setHeader: () => undefined,
      // Every write fills the buffer: the scrape waits for 'drain' after each.
      write: () => {
        setImmediate(() => response.emit('drain'));
        return false;
      },
      end: () => undefined,
    });
    await new MetricsController().index(response);
    expect(response.listenerCount('close')).toBe(0);
    expect(response.listenerCount('drain')).toBe(0);
  });
});
