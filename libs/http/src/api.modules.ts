import { Module } from '@nestjs/common';
import { Stores, STORES } from '@app/storage';
import { EventsWriteController } from './ingest/events-write.controller';
import { IngestService } from './ingest/ingest.service';
import { ID_SECRET } from './ingest/id-secret';
import { CappedCollectionsCache } from './ingest/capped-collections.cache';
import { QueriesController } from './query/queries.controller';
import { QueryService } from './query/query.service';
import { SchemaController } from './schema/schema.controller';
import { SchemaService } from './schema/schema.service';
import { DeleteController } from './delete/delete.controller';
import { DeleteService } from './delete/delete.service';
import { DeletePropertyController } from './delete/delete-property.controller';
import { DeletePropertyService } from './delete/delete-property.service';
import { DeleteJobsModule } from './delete/delete-jobs.module';

/** The write half of the API (ingest pool). */
@Module({
  controllers: [EventsWriteController],
  providers: [IngestService, CappedCollectionsCache, { provide: ID_SECRET, inject: [STORES], useFactory: (s: Stores) => s.idSecret }],
  exports: [IngestService],
})
export class IngestApiModule {}

/** The read half of the API (query pool): queries, schema and deletes. */
@Module({
  imports: [DeleteJobsModule],
  controllers: [QueriesController, SchemaController, DeleteController, DeletePropertyController],
  providers: [QueryService, SchemaService, DeleteService, DeletePropertyService],
  exports: [SchemaService],
})
export class QueryApiModule {}
