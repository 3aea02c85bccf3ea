import { Controller, Delete, HttpCode, Param, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeletePropertyService, DeleteReply, sendJobAccepted } from '@app/core';
import {
  CollectionParam,
  DeleteJobAcceptedResponse,
  KeenErrors,
  WRITE_ERRORS,
  KeenOperation,
  ProjectParam,
  PropertyParam,
} from '@app/http';

/**
 * A property delete rewrites events, so like every DELETE it is served by the
 * query pool (nginx routes by method), never by the ingest processes, and it
 * answers like the event delete: 204 when done in the request, 202 + job when
 * the collection is larger than DELETE_JOB_THRESHOLD, 429 over the limits.
 */
@ApiTags('delete')
@ProjectParam()
@CollectionParam()
@Controller('3.0/projects/:projectId/events/:collection/properties')
export class DeletePropertyController {
  constructor(private readonly properties: DeletePropertyService) {}

  @Delete(':property')
  @HttpCode(204)
  @RequireKey('master')
  @KeenOperation({
    summary:
      'Remove a property (dotted path; an object goes with its sub-properties) from every event of the collection; keen.* stays. ' +
      '204 when done in the request; 202 {job_id, status_url} when the collection has more than DELETE_JOB_THRESHOLD events; ' +
      '429 over the per-project delete limits',
    key: 'master',
  })
  @PropertyParam()
  @ApiResponse({
    status: 204,
    description: 'Removed; events changed meanwhile are skipped and keep the property.',
    headers: {
      'x-tally-events-scanned': { description: 'Events read.', schema: { type: 'integer' } },
      'x-tally-events-updated': { description: 'Events rewritten.', schema: { type: 'integer' } },
      'x-tally-events-skipped': {
        description: 'Events left as they were.',
        schema: { type: 'integer' },
      },
    },
  })
  @DeleteJobAcceptedResponse('A large collection: accepted as a background job; poll status_url.')
  @KeenErrors(400, 429, ...WRITE_ERRORS)
  async deleteProperty(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Param('property') property: string,
    @Res() reply: DeleteReply,
  ): Promise<void> {
    const outcome = await this.properties.deleteProperty(projectId, collection, property);
    if (outcome.kind === 'job') {
      sendJobAccepted(reply, projectId, outcome.job);
      return;
    }
    // What it read and rewrote; `skipped` events changed meanwhile and still carry the property.
    const done = outcome.progress;
    reply
      .status(204)
      .header('x-tally-events-scanned', String(done.scanned))
      .header('x-tally-events-updated', String(done.updated))
      .header('x-tally-events-skipped', String(done.skipped))
      .send();
  }
}
