import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, TallyConfig } from '@app/config';
import { StorageModule } from '@app/storage';
import { AuthModule } from '@app/auth';
import { CollectionGetController } from '@app/api/collection';
import { HealthController, LoggingModule } from '@app/http';
import { QueryApiModule } from '@app/api/query';
import { ExplorerModule } from '@app/api/explorer';
import { ProjectApiModule } from '@app/api/project';
import { DeadLettersModule } from '@app/api/dead-letters';
import { RetentionModule } from '@app/api/retention';

/** The query pool: queries, schema, deletes and key management; never on the write path. */
@Module({})
export class QueryAppModule {
  static forRoot(config: TallyConfig): DynamicModule {
    return {
      module: QueryAppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        StorageModule.forRoot(),
        AuthModule,
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
