import { Inject, OnApplicationShutdown, Optional, Provider } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { INGEST_RATE_LIMITER, IngestRateLimiter } from '@app/queue';
import { redisShards, RedisIngestRateLimiter } from '@app/queue/bullmq';
import { hasIngestLimits, LocalIngestRateLimiter } from '@app/core';

/**
 * The per-project write limits (INGEST_EVENTS_PER_SECOND, INGEST_BYTES_PER_SECOND),
 * or null when none is set. With the inline queue there is one process, so the
 * limiter is local; with the Redis queue every ingest process shares the
 * buckets on the queue shards, and decides locally while a shard is unreachable.
 */
export const ingestRateLimiterProvider: Provider = {
  provide: INGEST_RATE_LIMITER,
  inject: [TALLY_CONFIG],
  useFactory: (config: TallyConfig): IngestRateLimiter | null => {
    const limits = config.limits.ingest;
    if (!hasIngestLimits(limits)) return null;
    const local = new LocalIngestRateLimiter(limits);
    if (config.queue.kind === 'inline') return local;
    return new RedisIngestRateLimiter({
      shards: redisShards(config.queue.redisUrls),
      limits,
      fallback: local,
    });
  },
};

export class IngestRateLimiterCloser implements OnApplicationShutdown {
  constructor(
    @Optional() @Inject(INGEST_RATE_LIMITER) private readonly limiter: IngestRateLimiter | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.limiter?.close();
  }
}
