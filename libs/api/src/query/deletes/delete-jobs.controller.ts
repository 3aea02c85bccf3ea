import { Controller, Get, Param } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeleteJobView, DeleteJobsService } from '@app/core';
import { JobParam, KeenOperation, ProjectParam, ref } from '@app/http';

/** Status of background deletes; any query process answers, the jobs are in the shared store. */
@ApiTags('delete')
@ProjectParam()
@Controller('3.0/projects/:projectId/jobs')
export class DeleteJobsController {
  constructor(private readonly jobs: DeleteJobsService) {}

  @Get(':jobId')
  @RequireKey('master')
  @KeenOperation({
    summary:
      'Status of a background delete: state queued|running|done|failed, events_scanned, events_deleted',
    key: 'master',
  })
  @JobParam()
  @ApiResponse({ status: 200, description: 'The job as it stands.', schema: ref('DeleteJob') })
  status(
    @Param('projectId') projectId: string,
    @Param('jobId') jobId: string,
  ): Promise<DeleteJobView> {
    return this.jobs.status(projectId, jobId);
  }
}
