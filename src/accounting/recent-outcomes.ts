/** Share verdicts of the last hour, per minute: the farm page's "accepted and rejected in the last hour". */
export interface OutcomeSummary {
  accepted: number;
  rejected: number;
  /** Rejections by reason (the proxy_shares_rejected_total reasons). */
  reasons: Record<string, number>;
}

const MINUTE_MS = 60_000;
const MINUTES = 60;

/** A ring of 60 one-minute buckets; a bucket is reused once its minute has passed out of the hour. */
export class RecentOutcomes {
  private readonly minutes = new Float64Array(MINUTES).fill(-1);
  private readonly accepted = new Float64Array(MINUTES);
  private readonly rejected: Map<string, number>[] = Array.from({ length: MINUTES }, () => new Map());

  add(now: number, reason: string | null): void {
    const minute = Math.floor(now / MINUTE_MS);
    const slot = minute % MINUTES;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.accepted[slot] = 0;
      this.rejected[slot].clear();
    }
    if (reason === null) this.accepted[slot]++;
    else this.rejected[slot].set(reason, (this.rejected[slot].get(reason) ?? 0) + 1);
  }

  /** The verdicts of the last 60 minutes (the current one included). */
  summary(now: number): OutcomeSummary {
    const current = Math.floor(now / MINUTE_MS);
    const result: OutcomeSummary = { accepted: 0, rejected: 0, reasons: {} };
    for (let slot = 0; slot < MINUTES; slot++) {
      if (this.minutes[slot] < 0 || current - this.minutes[slot] >= MINUTES) continue;
      result.accepted += this.accepted[slot];
      for (const [reason, count] of this.rejected[slot]) {
        result.rejected += count;
        result.reasons[reason] = (result.reasons[reason] ?? 0) + count;
      }
    }
    return result;
  }
}
