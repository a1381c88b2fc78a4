// Preloaded into the proxy by the bench (node --import): the proxy's event-loop delay at 1 ms resolution,
// measured from inside without touching the proxy's code. SIGUSR2 writes what was seen since the last
// signal to $BENCH_LOOP_FILE and starts over.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 1 });
histogram.enable();
// When the long stalls happened (ms since the process started), to match them with --trace-gc or a profile.
let stalls = [];
let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > 50 && stalls.length < 100) stalls.push({ atMs: Math.round(last), ms: Math.round(now - last) });
  last = now;
}, 5).unref();
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const report = { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), stalls };
  histogram.reset();
  stalls = [];
  writeFileSync(process.env.BENCH_LOOP_FILE, JSON.stringify(report));
});
