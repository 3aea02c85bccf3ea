import { Controller, Get, Inject, Optional, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import { KeyCache } from '@app/auth';
import { IngestService } from './ingest/ingest.service';
import { decodeBeaconData, PIXEL_GIF } from './ingest/beacon';
import { SchemaService } from './schema/schema.service';
import { OriginHeaders, requestOrigin } from './platform/request-origin';

interface RawRequest {
  headers: OriginHeaders & { authorization?: string };
}

interface RawReply {
  status(code: number): RawReply;
  header(name: string, value: string): RawReply;
  redirect(url: string, code?: number): RawReply;
  send(body?: unknown): void;
}

function notHere(): TallyError {
  return new TallyError('not_found', 'ResourceNotFoundError', 'Resource not found.');
}

/**
 * `GET …/events/:collection` is two operations on one URL: with `data=` it is
 * a beacon write (ingest pool), without it the collection's schema (query
 * pool). nginx splits them by query args; this one route serves whichever
 * half the process has, so standalone (both halves) needs no special case.
 */
@ApiTags('write', 'schema')
@Controller('3.0/projects/:projectId/events')
export class CollectionGetController {
  constructor(
    private readonly keys: KeyCache,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
    @Optional() private readonly ingest?: IngestService,
    @Optional() private readonly schema?: SchemaService,
  ) {}

  @Get(':collection')
  @ApiOperation({
    summary: 'With ?data=: beacon write (base64 JSON event; 1x1 GIF, or 302 to ?redirect=). Without: the collection schema.',
  })
  async get(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Query() query: Record<string, unknown>,
    @Req() req: RawRequest,
    @Res() reply: RawReply,
  ): Promise<void> {
    const key = req.headers.authorization || (typeof query.api_key === 'string' ? query.api_key : undefined);
    if (query.data === undefined) {
      if (!this.schema) throw notHere();
      this.keys.authorize(projectId, key, 'read');
      reply.status(200).send(await this.schema.getCollection(projectId, collection));
      return;
    }
    if (!this.ingest) throw notHere();
    this.keys.authorize(projectId, key, 'write');
    const origin = requestOrigin(projectId, req.headers, this.config.http.trustProxy);
    await this.ingest.recordOne(origin, collection, decodeBeaconData(query.data));
    const redirect = query.redirect;
    if (typeof redirect === 'string' && redirect) {
      if (!/^https?:\/\//i.test(redirect)) {
        throw new TallyError('invalid', 'InvalidRedirectError', 'The "redirect" parameter must be an http(s) URL.');
      }
      reply.redirect(redirect, 302);
      return;
    }
    reply.status(200).header('content-type', 'image/gif').header('cache-control', 'no-store').send(PIXEL_GIF);
  }
}
