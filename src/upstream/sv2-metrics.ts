// The metrics of the second upstream protocol: which protocol each pool speaks, and SV2's security failures.
import { makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { SV2_SECURITY_REASON_PREFIX } from './sv2-pool-connection.js';

export const SV2_METRIC = {
  poolInfo: 'proxy_pool_info',
  securityFailures: 'proxy_sv2_security_failures_total',
} as const;

/** Registered beside the upstream side's other providers (the metric registry is process-wide). */
export const SV2_METRIC_PROVIDERS = [
  makeGaugeProvider({
    name: SV2_METRIC.poolInfo,
    help: 'Pools the proxy connects to now (1), with the protocol each speaks upstream (sv1 or sv2).',
    labelNames: ['proxy', 'pool', 'protocol'],
  }),
  makeCounterProvider({
    name: SV2_METRIC.securityFailures,
    help: 'SV2 pool connections ended by a security failure, by stage (authority_key, handshake, transport) and reason.',
    labelNames: ['proxy', 'pool', 'stage', 'reason'],
  }),
];

export interface Sv2SecurityFailure {
  readonly stage: 'authority_key' | 'handshake' | 'transport';
  /** The Noise error kind with underscores (bad_signature, certificate_expired, decryption_failed, ...), or invalid for a key. */
  readonly reason: string;
}

/**
 * The stage and kind of an SV2 connection's down reason ("Noise handshake failed (bad-signature): ..."), or
 * null when it was no security failure. Bounded values only: the free text stays in the log line.
 */
export function sv2SecurityFailure(downReason: string): Sv2SecurityFailure | null {
  if (!downReason.startsWith(SV2_SECURITY_REASON_PREFIX)) return null;
  const rest = downReason.slice(SV2_SECURITY_REASON_PREFIX.length);
  if (rest.startsWith('authority key')) return { stage: 'authority_key', reason: 'invalid' };
  const match = /^(handshake|transport) failed \(([a-z-]+)\)/.exec(rest);
  if (!match) return { stage: 'handshake', reason: 'other' };
  return { stage: match[1] as 'handshake' | 'transport', reason: match[2].replace(/-/g, '_') };
}
