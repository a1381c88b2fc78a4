// Where a V8 sampling heap profile (bench: BENCH_ALLOC_PROFILE=<file>) says the proxy allocated, by function:
//   node bench/top-allocations.mjs <file.heapprofile> [N] [--shares COUNT]
// Prints the top N functions (default 20) by bytes allocated in them (self), as a Markdown table; with
// --shares, the bytes per share too (the share phase's shares answered, from the bench's table).
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, count] = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && all[i - 1] !== '--shares');
if (!file) {
  console.error('usage: node bench/top-allocations.mjs <file.heapprofile> [N] [--shares COUNT]');
  process.exit(2);
}
const sharesAt = process.argv.indexOf('--shares');
const shares = sharesAt > 0 ? Number(process.argv[sharesAt + 1]) : null;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const bySite = new Map();
let total = 0;
(function walk(node) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'}\t${where}`;
  bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child);
})(profile.head);
const kib = (bytes) => (bytes / 1024).toLocaleString('en-US', { maximumFractionDigits: 1 });
console.log(`${file}: ${kib(total)} KiB sampled${shares ? `, ${(total / shares).toFixed(0)} bytes per share (${shares} shares)` : ''}\n`);
console.log(`| function | where | KiB | % |${shares ? ' bytes per share |' : ''}`);
console.log(`|---|---|---|---|${shares ? '---|' : ''}`);
for (const [key, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(count ?? 20))) {
  const [name, where] = key.split('\t');
  const share = shares ? ` ${(bytes / shares).toFixed(0)} |` : '';
  console.log(`| ${name} | ${where} | ${kib(bytes)} | ${((bytes / total) * 100).toFixed(1)} % |${share}`);
}
