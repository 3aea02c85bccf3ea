import { Logger, Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import {
  COMPILED_QUERIES,
  CompiledQueries,
  EVENT_STORE,
  EventStore,
  METADATA_STORE,
  MetadataStore,
  STORES,
  Stores,
} from '@app/storage';
import {
  DeleteJobsService,
  DeletePropertyService,
  DeleteService,
  EXTRACTION_MAILER,
  EmailExtractionService,
  ExtractionMailer,
  ProjectDeleteLimits,
  QueryService,
  SavedQueriesService,
  DatasetsService,
  DatasetMaintainer,
  SavedQueryRefresher,
  SchemaService,
} from '@app/core';
import { openExtractionMailer } from '@app/mail';
import { QueriesController } from './queries.controller';
import { SchemaController } from './schema.controller';
import { DeleteController } from './deletes/delete.controller';
import { DeletePropertyController } from './deletes/delete-property.controller';
import { DeleteJobsController } from './deletes/delete-jobs.controller';
import { SavedQueriesController } from './saved-queries.controller';
import { DatasetsController } from './datasets.controller';

/**
 * The read half of the API (query pool and standalone): queries, schema,
 * deletes and delete jobs, each controller over its use case from core.
 */
@Module({
  controllers: [
    QueriesController,
    SchemaController,
    DeleteController,
    DeletePropertyController,
    DeleteJobsController,
    SavedQueriesController,
    DatasetsController,
  ],
  providers: [
    {
      provide: QueryService,
      inject: [EVENT_STORE, TALLY_CONFIG, STORES, { token: COMPILED_QUERIES, optional: true }],
      // The process's own compiled path (the standalone columnar copy), else the store's.
      useFactory: (
        events: EventStore,
        config: TallyConfig,
        stores: Stores,
        compiled?: CompiledQueries,
      ) => new QueryService(events, config, compiled ?? stores.compiled),
    },
    {
      provide: SchemaService,
      inject: [METADATA_STORE, TALLY_CONFIG],
      useFactory: (metadata: MetadataStore, config: TallyConfig) =>
        new SchemaService(metadata, config),
    },
    {
      // null without SMTP settings: emailed extractions are then refused with a 400.
      provide: EXTRACTION_MAILER,
      inject: [TALLY_CONFIG],
      useFactory: async (config: TallyConfig): Promise<ExtractionMailer | null> =>
        config.extractionEmail.smtp ? openExtractionMailer(config.extractionEmail.smtp) : null,
    },
    {
      // Runs emailed extractions in this process; stops them and closes SMTP at shutdown.
      provide: EmailExtractionService,
      inject: [QueryService, EXTRACTION_MAILER, TALLY_CONFIG],
      useFactory: (queries: QueryService, mailer: ExtractionMailer | null, config: TallyConfig) =>
        new EmailExtractionService(
          queries,
          mailer,
          config.extractionEmail,
          new Logger('email-extraction'),
        ),
    },
    {
      provide: ProjectDeleteLimits,
      inject: [TALLY_CONFIG],
      useFactory: (config: TallyConfig) =>
        new ProjectDeleteLimits({
          maxConcurrentPerProject: config.deletes.maxConcurrentPerProject,
          ratePerMinute: config.deletes.ratePerMinute,
        }),
    },
    {
      // Starts, resumes and stops background deletes with the process
      // (onApplicationBootstrap / beforeApplicationShutdown).
      provide: DeleteJobsService,
      inject: [STORES, TALLY_CONFIG, ProjectDeleteLimits],
      useFactory: (stores: Stores, config: TallyConfig, limits: ProjectDeleteLimits) =>
        new DeleteJobsService(stores, config, limits, new Logger('delete-jobs')),
    },
    {
      provide: DeleteService,
      inject: [STORES, TALLY_CONFIG, DeleteJobsService],
      useFactory: (stores: Stores, config: TallyConfig, jobs: DeleteJobsService) =>
        new DeleteService(stores, config, jobs),
    },
    {
      provide: DeletePropertyService,
      inject: [STORES, DeleteJobsService],
      useFactory: (stores: Stores, jobs: DeleteJobsService) =>
        new DeletePropertyService(stores, jobs),
    },
    {
      provide: SavedQueriesService,
      inject: [STORES, QueryService, TALLY_CONFIG],
      useFactory: (stores: Stores, queries: QueryService, config: TallyConfig) =>
        new SavedQueriesService(stores.savedQueries, queries, {
          maxPerProject: config.savedQueries.maxPerProject,
          limits: {
            deadlineMs: config.query.deadlineMs,
            maxGroups: config.query.maxGroups,
            maxExtractionEvents: config.query.maxExtractionEvents,
            maxInValues: config.query.maxInValues,
          },
        }),
    },
    {
      // Computes due cached queries in this process (onApplicationBootstrap /
      // beforeApplicationShutdown); the store's lease keeps it to one process per query.
      provide: SavedQueryRefresher,
      inject: [STORES, QueryService, TALLY_CONFIG],
      useFactory: (stores: Stores, queries: QueryService, config: TallyConfig) =>
        new SavedQueryRefresher(
          stores.savedQueries,
          queries,
          {
            checkIntervalMs: config.savedQueries.refreshCheckMs,
            // Past the query deadline a computation has failed; the margin covers saving it.
            leaseMs: config.query.deadlineMs + 30_000,
            retryMs: Math.max(config.savedQueries.refreshCheckMs, 60_000),
          },
          new Logger('saved-queries'),
        ),
    },
    {
      provide: DatasetsService,
      inject: [STORES, TALLY_CONFIG],
      useFactory: (stores: Stores, config: TallyConfig) =>
        new DatasetsService(stores.datasets, { maxInValues: config.query.maxInValues }),
    },
    {
      // Keeps datasets current in this process (onApplicationBootstrap /
      // beforeApplicationShutdown); the store's leases keep a bucket to one process.
      provide: DatasetMaintainer,
      inject: [STORES, QueryService, TALLY_CONFIG],
      useFactory: (stores: Stores, queries: QueryService, config: TallyConfig) =>
        new DatasetMaintainer(
          stores.datasets,
          queries,
          {
            idleMs: config.datasets.refreshMs,
            bucketsPerRound: config.datasets.bucketsPerRound,
            // Past the query deadline a computation has failed; the margin covers storing it.
            leaseMs: config.query.deadlineMs + 30_000,
          },
          new Logger('datasets'),
        ),
    },
  ],
  exports: [SchemaService],
})
export class QueryApiModule {}
