// Where a share's added latency is spent, seen from inside the proxy. Preloaded into the bench's proxy:
//   BENCH_PROXY_NODE_FLAGS="--import ./bench/latency-probe.mjs" npm run bench -- --miners 1000 --rate 500 ...
// it appends to $LATENCY_PROBE_OUT (default /tmp/latency-probe.out) at each SIGUSR2, the signal the bench
// sends at the start and the end of the share phase for bench/loop-monitor.mjs (more signals would cut that
// monitor's window too), what it saw since the last one: for the miners' sockets, the time from a line's arrival in
// JavaScript to the next write on that socket (the proxy's whole turnaround for a share, the pool included);
// for the pool's sockets, the time from a write to the next line from the pool (the pool's round trip as the
// proxy sees it). What the miners measure above the first is outside the proxy's JavaScript (the kernel,
// wake-ups, the event loop reaching the socket). Bench tooling only: it wraps Socket.prototype.emit and write.
import { appendFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { createHistogram } from 'node:perf_hooks';

const out = process.env.LATENCY_PROBE_OUT ?? '/tmp/latency-probe.out';
const now = () => process.hrtime.bigint();
// Histograms, not arrays: a share phase of any length takes the same memory.
const minerTurnaround = createHistogram();
const poolRoundTrip = createHistogram();
const arrived = Symbol('line arrived');
const wrote = Symbol('line written');

const emit = Socket.prototype.emit;
Socket.prototype.emit = function (event, ...rest) {
  if (event === 'data') {
    // Accepted sockets are the miners'; the sockets the proxy opened are the pool's.
    if (this._server) this[arrived] ??= now();
    else if (this[wrote] !== undefined) {
      poolRoundTrip.record(now() - this[wrote]);
      this[wrote] = undefined;
    }
  }
  return emit.call(this, event, ...rest);
};
const write = Socket.prototype.write;
Socket.prototype.write = function (...rest) {
  if (this._server) {
    if (this[arrived] !== undefined) {
      minerTurnaround.record(now() - this[arrived]);
      this[arrived] = undefined;
    }
  } else this[wrote] ??= now();
  return write.apply(this, rest);
};

const summary = (name, histogram) => {
  const at = (p) => (histogram.count ? (histogram.percentile(p) / 1e3).toFixed(1) : '-');
  const text = `${name} n=${histogram.count} p10/p50/p90 ${at(10)}/${at(50)}/${at(90)} µs`;
  histogram.reset();
  return text;
};
process.on('SIGUSR2', () =>
  appendFileSync(out, `${new Date().toISOString()} ${summary('miner turnaround', minerTurnaround)}; ${summary('pool round trip', poolRoundTrip)}\n`),
);
