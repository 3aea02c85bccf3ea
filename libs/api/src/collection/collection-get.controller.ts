import { Controller, Get, Inject, Optional, Param, Query, Req, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { assertCollectionName, TallyError } from '@app/events';
import { KeyCache } from '@app/auth';
import { autofillOf, IngestService, SchemaService } from '@app/core';
import { beaconRedirect, decodeBeaconData, PIXEL_GIF } from './beacon';
import {
  ClientHeaders,
  OriginHeaders,
  requestClient,
  requestOrigin,
  BeaconQueryParameters,
  CollectionParam,
  KeenErrors,
  WRITE_ERRORS,
  KeenOperation,
  ProjectParam,
  ref,
} from '@app/http';

interface RawRequest {
  headers: OriginHeaders & ClientHeaders & { authorization?: string };
  socket?: { remoteAddress?: string };
}

interface RawReply {
  status(code: number): RawReply;
  header(name: string, value: string): RawReply;
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
@ProjectParam()
@Controller('3.0/projects/:projectId/events')
export class CollectionGetController {
  constructor(
    private readonly keys: KeyCache,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
    @Optional() private readonly ingest?: IngestService,
    @Optional() private readonly schema?: SchemaService,
  ) {}

  @Get(':collection')
  @KeenOperation({
    summary:
      'With ?data=: beacon write (base64 JSON event; 1x1 GIF, or 302 to ?redirect=). Without: the collection schema.',
    key: 'read|write',
  })
  @CollectionParam()
  @BeaconQueryParameters()
  @ApiResponse({
    status: 200,
    description:
      'Without data: the collection schema (JSON). With data: the event is stored; a 1x1 GIF.',
    content: {
      'application/json': { schema: ref('CollectionSchema') },
      'image/gif': { schema: { type: 'string', format: 'binary' } },
    },
  })
  @ApiResponse({
    status: 302,
    description: 'With data and redirect: the event is stored; go to the redirect URL.',
    headers: { Location: { description: 'The redirect URL.', schema: { type: 'string' } } },
  })
  @KeenErrors(400, 413, 429, ...WRITE_ERRORS)
  async get(
    @Param('projectId') projectId: string,
    @Param('collection') collection: string,
    @Query() query: Record<string, unknown>,
    @Req() req: RawRequest,
    @Res() reply: RawReply,
  ): Promise<void> {
    const key =
      req.headers.authorization || (typeof query.api_key === 'string' ? query.api_key : undefined);
    if (query.data === undefined) {
      if (!this.schema) throw notHere();
      this.keys.authorize(projectId, key, 'schema');
      reply.status(200).send(await this.schema.getCollection(projectId, collection));
      return;
    }
    if (!this.ingest) throw notHere();
    const writer = this.keys.authorize(projectId, key, 'write');
    // Everything is checked before the event is stored (recordOne validates the
    // event before it enqueues): a refused beacon leaves nothing behind, so the
    // browser's retry cannot duplicate it.
    assertCollectionName(collection);
    const location = beaconRedirect(query.redirect, this.config.http.beaconRedirectHosts);
    const event = decodeBeaconData(query.data);
    const origin = requestOrigin(projectId, req.headers, this.config.http.trustProxy);
    const bytes = typeof query.data === 'string' ? query.data.length : 0;
    // Keen's web auto-collector sends ${keen.ip} and ${keen.user_agent} in beacons.
    const client = requestClient(req.headers, req.socket?.remoteAddress, this.config.http.trustProxy);
    await this.ingest.recordOne(origin, collection, event, bytes, client, autofillOf(writer));
    if (location !== undefined) {
      reply.status(302).header('location', location).header('cache-control', 'no-store').send();
      return;
    }
    reply
      .status(200)
      .header('content-type', 'image/gif')
      .header('cache-control', 'no-store')
      .send(PIXEL_GIF);
  }
}
