import { Body, Controller, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { RequestOrigin } from '@app/events';
import { RequireKey } from '@app/auth';
import { OriginHeaders, requestOrigin } from '../platform/request-origin';
import { BatchResult, IngestService } from './ingest.service';

interface RawRequest {
  headers: OriginHeaders;
}

@ApiTags('write')
@Controller('3.0/projects/:projectId/events')
export class EventsWriteController {
  constructor(
    private readonly ingest: IngestService,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
  ) {}

  @Post(':collection')
  @HttpCode(201)
  @RequireKey('write')
  @ApiOperation({ summary: 'Record one event' })
  async recordOne(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Body() body: unknown,
    @Req() req: RawRequest,
  ): Promise<{ created: true; schema_capped?: true }> {
    const { schemaCapped } = await this.ingest.recordOne(
      this.origin(projectId, req),
      collection,
      body,
    );
    // Keen's clients read only `created`; the flag is Tally's addition.
    return schemaCapped ? { created: true, schema_capped: true } : { created: true };
  }

  @Post()
  @HttpCode(200)
  @RequireKey('write')
  @ApiOperation({ summary: 'Record a batch: {"collection": [events...]}' })
  recordBatch(
    @Param('projectId') projectId: string,
    @Body() body: unknown,
    @Req() req: RawRequest,
  ): Promise<BatchResult> {
    return this.ingest.recordBatch(this.origin(projectId, req), body);
  }

  private origin(projectId: string, req: RawRequest): RequestOrigin {
    return requestOrigin(projectId, req.headers, this.config.http.trustProxy);
  }
}
