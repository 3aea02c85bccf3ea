import {
  DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { EVENT_PERSISTER, EventPersister } from '@app/storage';
import { INGEST_QUEUE, IngestQueue } from '@app/queue';
import { InlineQueue } from '@app/queue/inline';
import { redisShards, ShardedBullQueue, ShardEvent } from '@app/queue/bullmq';

class QueueCloser implements OnApplicationShutdown {
  constructor(@Inject(INGEST_QUEUE) private readonly queue: IngestQueue) {}
  // Runs before the stores close (Nest shuts modules down in reverse order),
  // so pending batches are flushed into open stores.
  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}

/**
 * Where acknowledged events go, chosen from config in this one place:
 *  - `inline` (standalone only; config refuses it elsewhere): this process
 *    persists them itself, through the EVENT_PERSISTER its app provides (the
 *    same persisterFor the worker runs), so this pool's module never sees an
 *    event store;
 *  - `redis`: the sharded BullMQ queue, drained by the worker.
 */
@Global()
@Module({})
export class IngestQueueModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return config.queue.kind === 'inline' ? IngestQueueModule.inline() : IngestQueueModule.redis();
  }

  private static inline(): DynamicModule {
    return {
      module: IngestQueueModule,
      providers: [
        {
          provide: INGEST_QUEUE,
          inject: [EVENT_PERSISTER, TALLY_CONFIG],
          // Up to twenty full batches wait for their commit; past that, 503.
          useFactory: (persister: EventPersister, config: TallyConfig): IngestQueue =>
            new InlineQueue(persister, {
              maxInFlight: 2,
              maxQueuedEvents: 20 * config.limits.maxBatchEvents,
            }),
        },
        QueueCloser,
      ],
      exports: [INGEST_QUEUE],
    };
  }

  private static redis(): DynamicModule {
    return {
      module: IngestQueueModule,
      providers: [
        {
          provide: INGEST_QUEUE,
          inject: [TALLY_CONFIG],
          useFactory: (config: TallyConfig): IngestQueue =>
            new ShardedBullQueue({
              shards: redisShards(config.queue.redisUrls),
              enqueueDeadlineMs: config.http.enqueueDeadlineMs,
              onShardEvent: logShardEvent,
            }),
        },
        QueueCloser,
      ],
      exports: [INGEST_QUEUE],
    };
  }
}

const shardLog = new Logger('IngestQueue');

/**
 * A shard's failures and breaker changes, for the operator reading why 503s
 * came (the messages name the shard's address and the call, never a key).
 */
function logShardEvent(event: ShardEvent): void {
  const shard = `queue shard ${event.shard}`;
  if (event.kind === 'closed') shardLog.log(`${shard}: breaker closed, enqueues use it again`);
  else if (event.kind === 'opened') shardLog.warn(`${shard}: breaker open, enqueues skip it`);
  else shardLog.warn(`${shard}: enqueue ${event.kind}: ${event.message ?? ''}`);
}
