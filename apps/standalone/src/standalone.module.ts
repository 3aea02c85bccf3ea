import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, TallyConfig } from '@app/config';
import { StorageModule } from '@app/storage';
import { AuthModule } from '@app/auth';
import { CollectionGetController } from '@app/api/collection';
import { HealthController, LoggingModule } from '@app/http';
import { IngestApiModule, IngestQueueModule } from '@app/api/ingest';
import { QueryApiModule } from '@app/api/query';
import { ExplorerModule } from '@app/api/explorer';
import { ProjectApiModule } from '@app/api/project';
import { DeadLettersModule } from '@app/api/dead-letters';
import { RetentionModule } from '@app/api/retention';
import { PersisterModule } from './persister.module';
import { ColumnarModule } from './columnar.module';

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
        PersisterModule,
        ColumnarModule,
        IngestQueueModule.forRoot(config),
        AuthModule,
        IngestApiModule,
        QueryApiModule,
        ProjectApiModule,
        DeadLettersModule,
        RetentionModule,
        ExplorerModule,
      ],
      controllers: [CollectionGetController, HealthController],
    };
  }
}
