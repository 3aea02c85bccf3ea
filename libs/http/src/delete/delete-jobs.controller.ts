import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeleteJobView } from './delete-job.view';
import { DeleteJobsService } from './delete-jobs.service';

/** Status of background deletes; any query process answers, the jobs are in the shared store. */
@ApiTags('delete')
@Controller('3.0/projects/:projectId/jobs')
export class DeleteJobsController {
  constructor(private readonly jobs: DeleteJobsService) {}

  @Get(':jobId')
  @RequireKey('master')
  @ApiOperation({
    summary:
      'Status of a background delete: state queued|running|done|failed, events_scanned, events_deleted',
  })
  status(
    @Param('projectId') projectId: string,
    @Param('jobId') jobId: string,
  ): Promise<DeleteJobView> {
    return this.jobs.status(projectId, jobId);
  }
}
