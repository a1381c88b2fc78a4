/**
 * Test doubles shared by the channel specs (channel.spec.ts, channel-workers.spec.ts): a ChannelHost that
 * records what the channel told it, and a pool job. The name ends in "spec.ts" so that the build leaves it out
 * of dist (tsconfig.build.json excludes **\/*spec.ts) but not in ".spec.ts", so that Vitest does not run it.
 */
import type { PoolJob } from '../protocol/pool-messages.js';
import type { ChannelHost } from './channel.js';

/** A host that records the channel's calls: account and channel events in order, and pool protocol errors by kind. */
export function recordingChannelHost(): { readonly host: ChannelHost; readonly events: string[]; readonly protocolErrors: string[] } {
  const events: string[] = [];
  const protocolErrors: string[] = [];
  const host: ChannelHost = {
    accountUp: (_c, index) => events.push(`up ${index}`),
    accountDown: (_c, index, wasReady) => events.push(`${wasReady ? 'down' : 'failed'} ${index}`),
    accountRefused: (_c, index) => events.push(`refused ${index}`),
    failover: (_c, from, to, reason) => events.push(`failover ${from}->${to} ${reason}`),
    channelGone: () => events.push('gone'),
    poolProtocolError: (_c, kind) => protocolErrors.push(kind),
  };
  return { host, events, protocolErrors };
}

/** A pool job with id `jobId` (the rest fixed). */
export const testPoolJob = (jobId: string, cleanJobs = true): PoolJob => ({
  jobId,
  prevhash: '00'.repeat(32),
  coinb1: 'aa',
  coinb2: 'bb',
  merkleBranch: [],
  version: '20000000',
  nbits: '1d00ffff',
  ntime: '5f000000',
  cleanJobs,
});
