import { ApiResponse } from '@nestjs/swagger';
import { ref } from './schemas';

/**
 * The 202 of a delete that became a background job. Its link to the job
 * status operation lets clients (and schemathesis' stateful phase) follow
 * `job_id` to GET …/jobs/{jobId} with the same project.
 */
export const DeleteJobAcceptedResponse = (description: string) =>
  ApiResponse({
    status: 202,
    description,
    headers: { Location: { description: 'The job status URL.', schema: { type: 'string' } } },
    schema: ref('DeleteJobAccepted'),
    links: {
      JobStatus: {
        operationId: 'DeleteJobsController_status',
        parameters: { projectId: '$request.path.projectId', jobId: '$response.body#/job_id' },
        description: 'Poll the job.',
      },
    },
  });
