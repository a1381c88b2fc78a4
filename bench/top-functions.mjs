// The top functions of a V8 CPU profile (node --cpu-prof, e.g. from `npm run bench -- --cpu-prof`) by self time,
// as a Markdown table for the README:
//   node bench/top-functions.mjs FILE.cpuprofile [N] [--phase empty|idle|shares]     (N: how many rows, default 25)
// --phase: only the samples of one bench phase: empty (no miner connected yet), idle (every miner connected, jobs,
// no shares) or shares, from FILE.phases.json, which bench/load.mjs writes beside each profile; without it, the
// whole life of the process, start-up included.
// Self time is the time of the samples taken in the function itself (not in what it calls), summed over every
// place it was seen in the call tree. "% of busy" leaves out (idle): the share of the time the proxy was working;
// (program) is time in V8/native code outside JavaScript, (garbage collector) the GC.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const argv = process.argv.slice(2);
const phaseIndex = argv.indexOf('--phase');
const phase = phaseIndex === -1 ? undefined : argv[phaseIndex + 1];
if (phaseIndex !== -1) argv.splice(phaseIndex, 2);
const [file, countArg] = argv;
if (!file || file === '--help' || file === '-h' || (phaseIndex !== -1 && !phase)) {
  process.stdout.write('usage: node bench/top-functions.mjs FILE.cpuprofile [N] [--phase empty|idle|shares]\n');
  process.exit(file === '--help' || file === '-h' ? 0 : 2);
}
const count = countArg === undefined ? 25 : Number(countArg);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write(`N must be a positive integer, got ${JSON.stringify(countArg)}\n`);
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const { nodes, samples = [], timeDeltas = [], startTime, endTime } = profile;
if (!Array.isArray(nodes)) throw new Error(`${file} is not a V8 CPU profile (no "nodes")`);

/** The time window to count, in the profile's µs (the monotonic clock): the whole profile, or one bench phase. */
let window = { fromUs: startTime, toUs: endTime };
if (phase !== undefined) {
  const phasesFile = `${file}.phases.json`;
  if (!existsSync(phasesFile)) {
    process.stderr.write(`--phase needs ${phasesFile} (written by bench/load.mjs beside its profiles)\n`);
    process.exit(2);
  }
  const phases = JSON.parse(readFileSync(phasesFile, 'utf8'));
  if (!phases[phase]) {
    process.stderr.write(`no phase "${phase}" in ${phasesFile}; there are: ${Object.keys(phases).join(', ')}\n`);
    process.exit(2);
  }
  window = phases[phase];
}

const byId = new Map(nodes.map((node) => [node.id, node]));
/** Microseconds of self time per node id. A sample's time runs from its timestamp to the next one's (as DevTools counts). */
const selfUs = new Map();
let at = startTime;
const stamps = timeDeltas.map((delta) => (at += delta));
let counted = 0;
for (let i = 0; i < samples.length; i++) {
  if (stamps[i] < window.fromUs || stamps[i] >= window.toUs) continue;
  counted++;
  const until = Math.min(i + 1 < stamps.length ? stamps[i + 1] : endTime, window.toUs);
  const duration = Math.max(0, until - stamps[i]);
  selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + duration);
}

/** A readable location: a path relative to the working folder (dist/..., node_modules/...), node:... for Node's own. */
function where(callFrame) {
  const { url, lineNumber } = callFrame;
  if (!url) return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      const absolute = fileURLToPath(url);
      path = relative(process.cwd(), absolute);
      // Another checkout's files (a baseline's profile): from its dist/ or node_modules/, like this one's.
      if (path.startsWith('..')) {
        const root = absolute.search(/\/(dist|node_modules)\//);
        path = root === -1 ? absolute : absolute.slice(root + 1);
      }
    } catch {
      // leave it as it is
    }
  }
  return lineNumber >= 0 ? `${path}:${lineNumber + 1}` : path;
}

const functions = new Map();
let totalUs = 0;
let idleUs = 0;
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id);
  const name = callFrame.functionName || '(anonymous)';
  totalUs += us;
  if (name === '(idle)') idleUs += us;
  const key = `${name}\u0000${callFrame.url}\u0000${callFrame.lineNumber}\u0000${callFrame.columnNumber}`;
  const entry = functions.get(key) ?? { name, location: where(callFrame), us: 0 };
  entry.us += us;
  functions.set(key, entry);
}
const busyUs = totalUs - idleUs;
const top = [...functions.values()]
  .filter((entry) => entry.name !== '(idle)')
  .sort((a, b) => b.us - a.us)
  .slice(0, count);

const msText = (us) => (us / 1000).toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
const pct = (us, of) => (of > 0 ? `${((us / of) * 100).toFixed(1)} %` : '-');
const escape = (text) => text.replace(/\|/g, '\\|');
process.stdout.write(
  `${file}${phase ? ` (${phase} phase)` : ''}: ${msText(totalUs)} ms sampled, ${msText(busyUs)} ms busy (${pct(busyUs, totalUs)}), ${msText(idleUs)} ms idle; ${counted} samples\n\n`,
);
process.stdout.write('| function | where | self ms | % of busy |\n|---|---|---|---|\n');
for (const entry of top)
  process.stdout.write(`| ${escape(entry.name)} | ${escape(entry.location)} | ${msText(entry.us)} | ${pct(entry.us, busyUs)} |\n`);
