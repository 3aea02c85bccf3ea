import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, TallyConfig } from '@app/config';
import { StorageModule } from '@app/storage';
import { QueueModule } from '@app/queue';
import { AuthModule } from '@app/auth';
import { CollectionGetController, HealthController, IngestApiModule, LoggingModule } from '@app/http';

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
        StorageModule.forRoot(),
        QueueModule.forRoot(),
        AuthModule,
        IngestApiModule,
      ],
      controllers: [CollectionGetController, HealthController],
    };
  }
}
