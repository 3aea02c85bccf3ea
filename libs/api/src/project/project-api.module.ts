import { Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { AccessKeys, SchemaService } from '@app/core';
import { METADATA_STORE, MetadataStore, STORES, Stores } from '@app/storage';
import { ProjectController } from './project.controller';
import { AccessKeysController } from './access-keys.controller';
import { ProjectInfoService } from './project-info.service';

/**
 * `GET /3.0/projects/:id`, its queries resource and its access keys, for the
 * processes that serve the read API (query pool, standalone). Metadata only.
 */
@Module({
  controllers: [ProjectController, AccessKeysController],
  providers: [
    {
      provide: ProjectInfoService,
      inject: [METADATA_STORE, TALLY_CONFIG, STORES],
      useFactory: (metadata: MetadataStore, config: TallyConfig, stores: Stores) =>
        new ProjectInfoService(metadata, new SchemaService(metadata, config), stores.savedQueries),
    },
    {
      provide: AccessKeys,
      inject: [METADATA_STORE, TALLY_CONFIG],
      useFactory: (metadata: MetadataStore, config: TallyConfig) =>
        new AccessKeys(metadata, { maxInValues: config.query.maxInValues }),
    },
  ],
})
export class ProjectApiModule {}
