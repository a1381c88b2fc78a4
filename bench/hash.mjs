// Cost per share of local validation, per algorithm: header rebuild (coinbase, merkle root) + proof-of-work
// hash. Runs on the built code (npm run bench:hash builds first); bounded in count and time.
import { SHARE_HASHERS } from '../dist/pools/algorithms/share-hashers.js';
import { buildHeader } from '../dist/protocol/share-hash.js';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';

const job = {
  prevhash: randomBytes(32).toString('hex'),
  coinb1: randomBytes(60).toString('hex'),
  coinb2: randomBytes(90).toString('hex'),
  merkleBranch: Array.from({ length: 12 }, () => randomBytes(32).toString('hex')),
  version: '20000000',
  nbits: '1a0213ef',
};
const TIME_BUDGET_MS = 2000;
const MAX_SHARES = 200_000;

async function measure(hasher, concurrent) {
  let shares = 0;
  const started = performance.now();
  while (shares < MAX_SHARES && performance.now() - started < TIME_BUDGET_MS) {
    const batch = [];
    for (let i = 0; i < concurrent; i++, shares++) {
      const header = buildHeader(job, {
        extranonce1: 'a1b2c3d4',
        extranonce2: shares.toString(16).padStart(16, '0'),
        ntime: '6543210f',
        nonce: '00000000',
      });
      batch.push(hasher.hash(header));
    }
    await Promise.all(batch);
  }
  const elapsed = performance.now() - started;
  return { shares, microsecondsPerShare: (elapsed * 1000) / shares, sharesPerSecond: (shares / elapsed) * 1000 };
}

const rows = [];
for (const [name, hasher] of SHARE_HASHERS) {
  await measure(hasher, 1); // warm-up
  const serial = await measure(hasher, 1);
  const parallel = await measure(hasher, 16);
  rows.push({
    algorithm: name,
    'µs/share (one at a time)': serial.microsecondsPerShare.toFixed(1),
    'shares/s (16 in flight)': Math.round(parallel.sharesPerSecond),
  });
}
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
console.table(rows);
console.log(JSON.stringify(rows));
