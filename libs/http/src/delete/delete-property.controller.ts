import { Controller, Delete, HttpCode, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeletePropertyService } from './delete-property.service';

/**
 * A property delete rewrites events, so like every DELETE it is served by the
 * query pool (nginx routes by method), never by the ingest processes.
 */
@ApiTags('delete')
@Controller('3.0/projects/:projectId/events/:collection/properties')
export class DeletePropertyController {
  constructor(private readonly properties: DeletePropertyService) {}

  @Delete(':property')
  @HttpCode(204)
  @RequireKey('master')
  @ApiOperation({
    summary:
      'Remove a property (dotted path; an object goes with its sub-properties) from every event of the collection; keen.* stays',
  })
  async deleteProperty(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Param('property') property: string,
    @Res({ passthrough: true }) reply: { header(name: string, value: string): unknown },
  ): Promise<void> {
    const done = await this.properties.deleteProperty(projectId, collection, property);
    // What it read and rewrote; `skipped` events changed meanwhile and still carry the property.
    reply.header('x-tally-events-scanned', String(done.scanned));
    reply.header('x-tally-events-updated', String(done.updated));
    reply.header('x-tally-events-skipped', String(done.skipped));
  }
}
