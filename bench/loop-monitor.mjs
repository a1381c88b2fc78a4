// Preloaded into the proxy by the bench (node --import): the proxy's event-loop delay, measured from inside
// without touching the proxy's code. SIGUSR2 writes what was seen since the last signal to $BENCH_LOOP_FILE
// and starts over: p50/p99 from Node's delay histogram (10 ms resolution), the longest stall and when the
// long ones (over 50 ms) happened, in ms since the process started, to match them with --trace-gc or a profile.
// At 1 ms resolution and a 5 ms ticker the monitor woke the loop about 1,200 times a second, about 3 % of a core
// here, counted in the proxy's CPU per share; at 10 ms and 50 ms it wakes it 120 times. It starts paused and runs only from one SIGUSR2 to the next; a SIGUSR2 while
// $BENCH_LOOP_FILE.pause exists reports and pauses it again. The bench runs it during the share phase only.
import { existsSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

// With $BENCH_ALLOC_PROFILE set, V8's sampling heap profiler runs over the same window (the share phase),
// counting what is collected too, and writes the allocations to that file (a .heapprofile, see
// bench/top-allocations.mjs): where the share path allocates, not what stays.
const allocationProfile = process.env.BENCH_ALLOC_PROFILE;
let inspector = null;
function sampleAllocations(start) {
  if (!allocationProfile) return;
  if (start && !inspector) {
    inspector = new Session();
    inspector.connect();
    inspector.post('HeapProfiler.enable');
    inspector.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  } else if (!start && inspector) {
    const session = inspector;
    inspector = null;
    session.post('HeapProfiler.stopSampling', (error, result) => {
      if (!error) writeFileSync(allocationProfile, JSON.stringify(result.profile));
      session.disconnect();
    });
  }
}

const TICK_MS = 50;
const histogram = monitorEventLoopDelay({ resolution: 10 });
let longest = 0;
let stalls = [];
let last = performance.now();
let ticker = null;

function tick() {
  const now = performance.now();
  const delay = now - last - TICK_MS;
  if (delay > longest) longest = delay;
  if (delay > 50 && stalls.length < 100) stalls.push({ atMs: Math.round(last), ms: Math.round(delay) });
  last = now;
}

process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const running = ticker !== null;
  const report = running
    ? { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: Math.round(longest * 100) / 100, stalls }
    : { p50: null, p99: null, max: null, stalls: [], paused: true };
  histogram.reset();
  longest = 0;
  stalls = [];
  last = performance.now();
  if (existsSync(`${process.env.BENCH_LOOP_FILE}.pause`)) {
    histogram.disable();
    if (ticker) clearInterval(ticker);
    ticker = null;
    sampleAllocations(false);
  } else {
    histogram.enable();
    if (!ticker) ticker = setInterval(tick, TICK_MS).unref();
    sampleAllocations(true);
  }
  writeFileSync(process.env.BENCH_LOOP_FILE, JSON.stringify(report));
});
