import { IngestAdmission, IngestCost, IngestRateLimiter, IngestRateLimits } from '@app/queue';
import { TokenBuckets } from '../deletes/token-bucket';

/**
 * Per-project write limits in this process: two token buckets per project
 * (events, bytes), refilled at the sustained rate and holding `burstSeconds`
 * of it. A request is admitted only when both buckets hold its cost, and then
 * takes from both; a refused request takes nothing. Standalone uses it as the
 * limiter; the ingest pool uses it while its shared limiter is unreachable.
 */
export class LocalIngestRateLimiter implements IngestRateLimiter {
  private readonly events?: TokenBuckets;
  private readonly bytes?: TokenBuckets;

  constructor(limits: IngestRateLimits, clock: () => number = Date.now) {
    if (limits.eventsPerSecond > 0)
      this.events = new TokenBuckets(
        limits.eventsPerSecond * 60,
        limits.eventsPerSecond * limits.burstSeconds,
        clock,
      );
    if (limits.bytesPerSecond > 0)
      this.bytes = new TokenBuckets(
        limits.bytesPerSecond * 60,
        limits.bytesPerSecond * limits.burstSeconds,
        clock,
      );
  }

  admitNow({ projectId, events, bytes }: IngestCost): IngestAdmission {
    const eventsWait = this.events?.wait(projectId, events) ?? 0;
    if (eventsWait > 0) return { admitted: false, limit: 'events', retryAfterSeconds: eventsWait };
    const bytesWait = this.bytes?.wait(projectId, bytes) ?? 0;
    if (bytesWait > 0) return { admitted: false, limit: 'bytes', retryAfterSeconds: bytesWait };
    this.events?.take(projectId, events);
    this.bytes?.take(projectId, bytes);
    return { admitted: true };
  }

  async admit(cost: IngestCost): Promise<IngestAdmission> {
    return this.admitNow(cost);
  }

  async close(): Promise<void> {}
}

/** Whether any limit is set (0 turns each off). */
export const hasIngestLimits = (limits: IngestRateLimits): boolean =>
  limits.eventsPerSecond > 0 || limits.bytesPerSecond > 0;
