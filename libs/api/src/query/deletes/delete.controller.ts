import { Body, Controller, Delete, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeleteService, DeleteReply, sendJobAccepted } from '@app/core';
import {
  CollectionParam,
  DeleteJobAcceptedResponse,
  EventSelectionQuery,
  KeenErrors,
  WRITE_ERRORS,
  KeenOperation,
  ProjectParam,
  ref,
} from '@app/http';

/**
 * Deletes are served by the query pool even though the URL is the write URL:
 * nginx routes DELETE by method, so a mass delete never shares a process
 * with ingestion.
 */
@ApiTags('delete')
@ProjectParam()
@CollectionParam()
@Controller('3.0/projects/:projectId/events/:collection')
export class DeleteController {
  constructor(private readonly deletes: DeleteService) {}

  @Delete()
  @HttpCode(204)
  @RequireKey('master')
  @KeenOperation({
    summary:
      'Delete the events matching filters/timeframe/timezone (query string); none: the whole collection. ' +
      '204 when done in the request; 202 {job_id, status_url} when it reads more than DELETE_JOB_THRESHOLD events; ' +
      '429 over the per-project delete limits',
    key: 'master',
  })
  @EventSelectionQuery()
  @ApiResponse({
    status: 204,
    description: 'Deleted in the request.',
    headers: {
      'x-tally-events-scanned': { description: 'Events read.', schema: { type: 'integer' } },
      'x-tally-events-deleted': { description: 'Events removed.', schema: { type: 'integer' } },
    },
  })
  @DeleteJobAcceptedResponse('A large delete, accepted as a background job; poll status_url.')
  @KeenErrors(400, 429, ...WRITE_ERRORS)
  async deleteEvents(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Query() params: Record<string, unknown>,
    @Body() body: unknown,
    @Res() reply: DeleteReply,
  ): Promise<void> {
    const outcome = await this.deletes.deleteEvents(projectId, collection, params, body);
    if (outcome.kind === 'job') {
      sendJobAccepted(reply, projectId, outcome.job);
      return;
    }
    // What the delete read and removed: a keen.id delete must read only those ids.
    reply
      .status(204)
      .header('x-tally-events-scanned', String(outcome.progress.scanned))
      .header('x-tally-events-deleted', String(outcome.progress.deleted))
      .send();
  }

  @Post('schema/recalculate')
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Exact recount of the schema counters (refused above SCHEMA_RECOUNT_MAX_EVENTS)',
    key: 'master',
  })
  @ApiResponse({ status: 200, description: 'Recounted.', schema: ref('SchemaRecount') })
  @KeenErrors(400, ...WRITE_ERRORS)
  recalculate(@Param('projectId') projectId: string, @Param('collection') collection: string) {
    return this.deletes.recount(projectId, collection);
  }
}
