import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, TallyConfig } from '@app/config';
import { StorageModule } from '@app/storage';
import { QueueModule } from '@app/queue';
import { AuthModule } from '@app/auth';
import { CollectionGetController, HealthController, IngestApiModule, LoggingModule, QueryApiModule } from '@app/http';

/** One process: ingest + query + the inline queue, on embedded SQLite. */
@Module({})
export class StandaloneModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: StandaloneModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        StorageModule.forRoot(),
        QueueModule.forRoot(),
        AuthModule,
        IngestApiModule,
        QueryApiModule,
      ],
      controllers: [CollectionGetController, HealthController],
    };
  }
}
