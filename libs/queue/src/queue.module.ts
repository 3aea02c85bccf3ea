import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { EventPersister } from '@app/storage';
import { INGEST_QUEUE, IngestQueue } from './ingest-queue.port';
import { InlineQueue } from './inline/inline.queue';
import { ShardedBullQueue } from './bullmq/sharded-bull.queue';
import { redisShards } from './redis-shards';

class QueueCloser implements OnApplicationShutdown {
  constructor(@Inject(INGEST_QUEUE) private readonly queue: IngestQueue) {}
  // Runs before the stores close (Nest shuts modules down in reverse order),
  // so pending batches are flushed into open stores.
  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
  }
}

/** Chooses the queue driver from config, in this one place. */
@Global()
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueModule,
      providers: [
        {
          provide: INGEST_QUEUE,
          inject: [TALLY_CONFIG, EventPersister],
          useFactory: (config: TallyConfig, persister: EventPersister): IngestQueue => {
            if (config.queue.kind === 'inline') return new InlineQueue(persister);
            return new ShardedBullQueue({
              shards: redisShards(config.queue.redisUrls),
              enqueueDeadlineMs: config.http.enqueueDeadlineMs,
            });
          },
        },
        QueueCloser,
      ],
      exports: [INGEST_QUEUE],
    };
  }
}
