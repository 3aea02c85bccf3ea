import { Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { SchemaService } from '@app/core';
import { METADATA_STORE, MetadataStore } from '@app/storage';
import { ProjectController } from './project.controller';
import { ProjectInfoService } from './project-info.service';

/**
 * `GET /3.0/projects/:id` and its queries resource, for the processes that
 * serve the read API (query pool, standalone). Reads metadata only.
 */
@Module({
  controllers: [ProjectController],
  providers: [
    {
      provide: ProjectInfoService,
      inject: [METADATA_STORE, TALLY_CONFIG],
      useFactory: (metadata: MetadataStore, config: TallyConfig) =>
        new ProjectInfoService(metadata, new SchemaService(metadata, config)),
    },
  ],
})
export class ProjectApiModule {}
