// Where a share's added latency is spent, seen from inside the proxy. Preloaded into the bench's proxy:
//   BENCH_PROXY_NODE_FLAGS="--import ./bench/latency-probe.mjs" npm run bench -- --miners 1000 --rate 500 ...
// and sent SIGUSR2 every few seconds (`pkill -USR2 -f -- --stratum.addr`), it appends to $LATENCY_PROBE_OUT
// (default /tmp/latency-probe.out), per window: for the miners' sockets, the time from a line's arrival in
// JavaScript to the next write on that socket (the proxy's whole turnaround for a share, the pool included);
// for the pool's sockets, the time from a write to the next line from the pool (the pool's round trip as the
// proxy sees it). What the miners measure above the first is outside the proxy's JavaScript (the kernel,
// wake-ups, the event loop reaching the socket). Bench tooling only: it wraps Socket.prototype.emit and write.
import { appendFileSync } from 'node:fs';
import { Socket } from 'node:net';

const out = process.env.LATENCY_PROBE_OUT ?? '/tmp/latency-probe.out';
const microseconds = () => Number(process.hrtime.bigint()) / 1e3;
const minerTurnaround = [];
const poolRoundTrip = [];
const arrived = Symbol('line arrived');
const wrote = Symbol('line written');

const emit = Socket.prototype.emit;
Socket.prototype.emit = function (event, ...rest) {
  if (event === 'data') {
    // Accepted sockets are the miners'; the sockets the proxy opened are the pool's.
    if (this._server) this[arrived] ??= microseconds();
    else if (this[wrote] !== undefined) {
      poolRoundTrip.push(microseconds() - this[wrote]);
      this[wrote] = undefined;
    }
  }
  return emit.call(this, event, ...rest);
};
const write = Socket.prototype.write;
Socket.prototype.write = function (...rest) {
  if (this._server) {
    if (this[arrived] !== undefined) {
      minerTurnaround.push(microseconds() - this[arrived]);
      this[arrived] = undefined;
    }
  } else this[wrote] ??= microseconds();
  return write.apply(this, rest);
};

const summary = (name, samples) => {
  const sorted = samples.splice(0).sort((a, b) => a - b);
  const at = (q) => (sorted.length ? sorted[Math.floor(q * (sorted.length - 1))].toFixed(1) : '-');
  return `${name} n=${sorted.length} p10/p50/p90 ${at(0.1)}/${at(0.5)}/${at(0.9)} µs`;
};
process.on('SIGUSR2', () =>
  appendFileSync(out, `${new Date().toISOString()} ${summary('miner turnaround', minerTurnaround)}; ${summary('pool round trip', poolRoundTrip)}\n`),
);
