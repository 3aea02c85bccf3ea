import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, TallyConfig } from '@app/config';
import { StorageModule } from '@app/storage';
import { AuthModule } from '@app/auth';
import { CollectionGetController } from '@app/api/collection';
import { HealthController, LoggingModule } from '@app/http';
import { IngestApiModule, IngestQueueModule } from '@app/api/ingest';
import { JournalRetentionModule } from './journal-retention.module';

/**
 * The write pool: validates, enriches and enqueues. Its only per-request
 * dependency is the queue; keys come from the background-refreshed cache.
 */
@Module({})
export class IngestAppModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: IngestAppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        StorageModule.forMetadata(),
        IngestQueueModule.forRoot(config),
        AuthModule,
        IngestApiModule,
        JournalRetentionModule,
      ],
      controllers: [CollectionGetController, HealthController],
    };
  }
}
