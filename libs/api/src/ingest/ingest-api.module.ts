import { Logger, Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import {
  EVENT_PERSISTER,
  EventPersister,
  METADATA_STORE,
  METADATA_STORES,
  MetadataStore,
  MetadataStores,
} from '@app/storage';
import { INGEST_QUEUE, INGEST_RATE_LIMITER, IngestQueue, IngestRateLimiter } from '@app/queue';
import { CappedCollectionsCache, ID_SECRET, IngestService } from '@app/core';
import { EventsWriteController } from './events-write.controller';
import { IngestRateLimiterCloser, ingestRateLimiterProvider } from './ingest-rate-limiter.provider';

/**
 * The write half of the API (ingest pool and standalone): Keen's write routes
 * over the record-events use case. It needs the metadata side and a queue,
 * never an event store.
 */
@Module({
  controllers: [EventsWriteController],
  providers: [
    {
      provide: ID_SECRET,
      inject: [METADATA_STORES],
      useFactory: (s: MetadataStores) => s.idSecret,
    },
    {
      provide: CappedCollectionsCache,
      inject: [METADATA_STORE, TALLY_CONFIG, { token: EVENT_PERSISTER, optional: true }],
      useFactory: (metadata: MetadataStore, config: TallyConfig, persister?: EventPersister) =>
        new CappedCollectionsCache(
          metadata,
          config,
          new Logger(CappedCollectionsCache.name),
          persister,
        ),
    },
    ingestRateLimiterProvider,
    IngestRateLimiterCloser,
    {
      provide: IngestService,
      inject: [TALLY_CONFIG, INGEST_QUEUE, ID_SECRET, CappedCollectionsCache, INGEST_RATE_LIMITER],
      useFactory: (
        config: TallyConfig,
        queue: IngestQueue,
        idSecret: string,
        capped: CappedCollectionsCache,
        limiter: IngestRateLimiter | null,
      ) => new IngestService(config, queue, idSecret, capped, limiter ?? undefined),
    },
  ],
  exports: [IngestService],
})
export class IngestApiModule {}
