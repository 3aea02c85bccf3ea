import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { QueryResponse } from '@app/query-engine';
import { CallerKey, RequireKey } from '@app/auth';
import { StoredKey } from '@app/storage';
import { EmailExtractionService, QueryService, scopeOfKey } from '@app/core';
import { ClientReply, abortOnDisconnect } from './abort-on-disconnect';
import { NdjsonReply, sendNdjson } from './ndjson';
import {
  AnalysisParam,
  BODY_ERRORS,
  ExtractionQueryParameters,
  JsonBody,
  KeenErrors,
  KeenOperation,
  KeenQueryParameters,
  ProjectParam,
  ref,
} from '@app/http';

// The stream's status line is written by hand (the reply is hijacked): 200, never Nest's POST default 201.
const NDJSON_OK = ApiResponse({
  status: 200,
  description:
    'One event per line. The first event is read before the status is sent, so bad parameters get a JSON 400; ' +
    'an error after that is a last line {"error": message}.',
  content: { 'application/x-ndjson': { schema: { type: 'string' } } },
});

const QUERY_OK = ApiResponse({
  status: 200,
  description: "Keen's result shape for the analysis.",
  schema: ref('QueryResult'),
});

/** Which engine answered a query (QueryPath: compiled or reference), for clients and benchmarks. */
export const QUERY_PATH_HEADER = 'x-tally-query-path';

interface PathReply {
  header(name: string, value: string): unknown;
}

@ApiTags('queries')
@ProjectParam()
@Controller('3.0/projects/:projectId/queries')
export class QueriesController {
  constructor(
    private readonly queries: QueryService,
    private readonly emailed: EmailExtractionService,
  ) {}

  @Get('extraction/stream')
  @RequireKey('read')
  @KeenOperation({
    summary:
      'Extraction of any size as NDJSON (one event per line), parameters in the query string',
    key: 'read',
  })
  @ExtractionQueryParameters()
  @NDJSON_OK
  @KeenErrors(400, 429, 504)
  streamGet(
    @Param('projectId') projectId: string,
    @Query() params: Record<string, unknown>,
    @Res() reply: NdjsonReply & ClientReply,
    @CallerKey() key: StoredKey,
  ): Promise<void> {
    const stream = this.queries.streamExtractionNdjson(
      projectId,
      params,
      abortOnDisconnect(reply),
      scopeOfKey(key),
    );
    return sendNdjson(reply, stream.pages, stream.deadline);
  }

  @Post('extraction/stream')
  @RequireKey('read')
  @KeenOperation({
    summary: 'Extraction of any size as NDJSON, parameters in the JSON body',
    key: 'read',
  })
  @JsonBody('QueryBody', 'The extraction parameters; no body: all defaults.', false)
  @NDJSON_OK
  @KeenErrors(...BODY_ERRORS, 429, 504)
  streamPost(
    @Param('projectId') projectId: string,
    @Body() body: unknown,
    @Res() reply: NdjsonReply & ClientReply,
    @CallerKey() key: StoredKey,
  ): Promise<void> {
    const stream = this.queries.streamExtractionNdjson(
      projectId,
      body ?? {},
      abortOnDisconnect(reply),
      scopeOfKey(key),
    );
    return sendNdjson(reply, stream.pages, stream.deadline);
  }

  @Get(':analysis')
  @RequireKey('read')
  @KeenOperation({
    summary: 'Run an analysis; parameters in the query string (objects as JSON text)',
    key: 'read',
    description: 'Which parameters each analysis needs: docs/query-language.md.',
  })
  @AnalysisParam()
  @KeenQueryParameters()
  @QUERY_OK
  @KeenErrors(400, 429, 504)
  get(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Query() params: Record<string, unknown>,
    @Res({ passthrough: true }) reply: ClientReply & PathReply,
    @CallerKey() key: StoredKey,
  ): Promise<QueryResponse> {
    return this.answer(projectId, analysis, params, reply, key);
  }

  @Post(':analysis')
  @HttpCode(200)
  @RequireKey('read')
  @KeenOperation({
    summary: 'Run an analysis; parameters in the JSON body',
    key: 'read',
    description: 'Which parameters each analysis needs: docs/query-language.md.',
  })
  @AnalysisParam()
  @JsonBody(
    'QueryBody',
    'The query parameters with their JSON types; no body: all defaults.',
    false,
  )
  @QUERY_OK
  @KeenErrors(...BODY_ERRORS, 429, 504)
  post(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: ClientReply & PathReply,
    @CallerKey() key: StoredKey,
  ): Promise<QueryResponse> {
    return this.answer(projectId, analysis, body ?? {}, reply, key);
  }

  /** An access key's forced filters (scopeOfKey) are added to whatever the query asks. */
  private answer(
    projectId: string,
    analysis: string,
    params: unknown,
    reply: ClientReply & PathReply,
    key: StoredKey,
  ): Promise<QueryResponse> {
    const scope = scopeOfKey(key);
    // With `email` an extraction runs in the background and is mailed (Keen's asynchronous extraction).
    if (EmailExtractionService.wants(analysis, params)) {
      return Promise.resolve(this.emailed.start(projectId, params, scope));
    }
    const onPath = (path: string) => reply.header(QUERY_PATH_HEADER, path);
    return this.queries.run(projectId, analysis, params, abortOnDisconnect(reply), onPath, scope);
  }
}
