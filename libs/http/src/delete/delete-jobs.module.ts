import { Module } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { DeleteJobsController } from './delete-jobs.controller';
import { DeleteJobsService } from './delete-jobs.service';
import { ProjectDeleteLimits } from './project-delete-limits';

/** Background deletes and the per-project delete limits, shared by every delete handler of the process. */
@Module({
  controllers: [DeleteJobsController],
  providers: [
    DeleteJobsService,
    {
      provide: ProjectDeleteLimits,
      inject: [TALLY_CONFIG],
      useFactory: (config: TallyConfig) =>
        new ProjectDeleteLimits({
          maxConcurrentPerProject: config.deletes.maxConcurrentPerProject,
          ratePerMinute: config.deletes.ratePerMinute,
        }),
    },
  ],
  exports: [DeleteJobsService, ProjectDeleteLimits],
})
export class DeleteJobsModule {}
