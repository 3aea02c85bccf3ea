import { Controller, Delete, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeleteService } from './delete.service';

/**
 * Deletes are served by the query pool even though the URL is the write URL:
 * nginx routes DELETE by method, so a mass delete never shares a process
 * with ingestion.
 */
@ApiTags('delete')
@Controller('3.0/projects/:projectId/events/:collection')
export class DeleteController {
  constructor(private readonly deletes: DeleteService) {}

  @Delete()
  @HttpCode(204)
  @RequireKey('master')
  @ApiOperation({ summary: 'Delete the events matching filters/timeframe/timezone (query string); none: the whole collection' })
  async deleteEvents(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Query() params: Record<string, unknown>,
    @Res({ passthrough: true }) reply: { header(name: string, value: string): unknown },
  ): Promise<void> {
    const done = await this.deletes.deleteEvents(projectId, collection, params);
    // What the delete read and removed: a keen.id delete must read only those ids.
    reply.header('x-tally-events-scanned', String(done.scanned));
    reply.header('x-tally-events-deleted', String(done.deleted));
  }

  @Post('schema/recalculate')
  @HttpCode(200)
  @RequireKey('master')
  @ApiOperation({ summary: 'Exact recount of the schema counters (refused above SCHEMA_RECOUNT_MAX_EVENTS)' })
  recalculate(@Param('projectId') projectId: string, @Param('collection') collection: string) {
    return this.deletes.recount(projectId, collection);
  }
}
