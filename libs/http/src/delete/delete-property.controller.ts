import { Controller, Delete, HttpCode, Param, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { DeletePropertyService } from './delete-property.service';
import {
  CollectionParam,
  KeenErrors,
  KeenOperation,
  ProjectParam,
  PropertyParam,
} from '../platform/openapi/index';

/**
 * A property delete rewrites events, so like every DELETE it is served by the
 * query pool (nginx routes by method), never by the ingest processes.
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
      'Remove a property (dotted path; an object goes with its sub-properties) from every event of the collection; keen.* stays',
    key: 'master',
  })
  @PropertyParam()
  @ApiResponse({
    status: 204,
    description: 'Removed; events changed meanwhile are skipped and keep the property.',
    headers: {
      'x-tally-events-scanned': { description: 'Events read.', schema: { type: 'integer' } },
      'x-tally-events-updated': { description: 'Events rewritten.', schema: { type: 'integer' } },
      'x-tally-events-skipped': { description: 'Events left as they were.', schema: { type: 'integer' } },
    },
  })
  @KeenErrors(400)
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
