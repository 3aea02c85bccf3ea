import { Body, Controller, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { RequestOrigin } from '@app/events';
import { CallerKey, RequireKey } from '@app/auth';
import { StoredKey } from '@app/storage';
import {
  ClientHeaders,
  OriginHeaders,
  RequestClient,
  requestClient,
  requestOrigin,
  BODY_ERRORS,
  WRITE_ERRORS,
  CollectionParam,
  JsonBody,
  KeenErrors,
  KeenOperation,
  ProjectParam,
  ref,
} from '@app/http';
import { autofillOf, BatchResult, IngestService } from '@app/core';

interface RawRequest {
  headers: OriginHeaders & ClientHeaders & { 'content-length'?: string };
  socket?: { remoteAddress?: string };
}

/** The body's size as sent, spent against the project's byte limit (0 when unknown). */
function requestBytes(req: RawRequest): number {
  const n = Number(req.headers['content-length']);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

@ApiTags('write')
@ProjectParam()
@Controller('3.0/projects/:projectId/events')
export class EventsWriteController {
  constructor(
    private readonly ingest: IngestService,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
  ) {}

  @Post(':collection')
  @HttpCode(201)
  @RequireKey('write')
  @KeenOperation({
    summary: 'Record one event',
    key: 'write',
    description: 'Answers only once the event is durably queued; a 503 means it was not stored.',
  })
  @CollectionParam()
  @JsonBody('Event', 'One event: any JSON object.')
  @ApiResponse({ status: 201, description: 'Stored.', schema: ref('Created') })
  @KeenErrors(...BODY_ERRORS, 429, ...WRITE_ERRORS)
  async recordOne(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Body() body: unknown,
    @Req() req: RawRequest,
    @CallerKey() key: StoredKey,
  ): Promise<{ created: true; schema_capped?: true }> {
    const { schemaCapped } = await this.ingest.recordOne(
      this.origin(projectId, req),
      collection,
      body,
      requestBytes(req),
      this.client(req),
      autofillOf(key),
    );
    // Keen's clients read only `created`; the flag is Tally's addition.
    return schemaCapped ? { created: true, schema_capped: true } : { created: true };
  }

  @Post()
  @HttpCode(200)
  @RequireKey('write')
  @KeenOperation({
    summary: 'Record a batch: {"collection": [events...]}',
    key: 'write',
    description:
      'Each event is validated on its own: a bad event is reported in its slot and the others are stored. ' +
      'A body that is not a batch, or over the batch limits, is refused whole.',
  })
  @JsonBody('EventBatch', 'Collection name to an array of events.')
  @ApiResponse({ status: 200, description: 'One result per event.', schema: ref('BatchResult') })
  @KeenErrors(...BODY_ERRORS, 429, ...WRITE_ERRORS)
  recordBatch(
    @Param('projectId') projectId: string,
    @Body() body: unknown,
    @Req() req: RawRequest,
    @CallerKey() key: StoredKey,
  ): Promise<BatchResult> {
    return this.ingest.recordBatch(
      this.origin(projectId, req),
      body,
      requestBytes(req),
      this.client(req),
      autofillOf(key),
    );
  }

  private origin(projectId: string, req: RawRequest): RequestOrigin {
    return requestOrigin(projectId, req.headers, this.config.http.trustProxy);
  }

  /** For keen.addons and the ${keen.ip} / ${keen.user_agent} placeholders. */
  private client(req: RawRequest): RequestClient {
    return requestClient(req.headers, req.socket?.remoteAddress, this.config.http.trustProxy);
  }
}
