import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import { ApiConsumes, ApiBody, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { assertNamedAllowed, CallerKey, forbidden, keyAllows, RequireKey } from '@app/auth';
import {
  SavedQueriesService,
  SavedQueryResultView,
  SavedQueryView,
  scopeOfKey,
  MAX_REFRESH_RATE,
  MAX_SAVED_QUERY_NAME,
  MIN_REFRESH_RATE,
} from '@app/core';
import { BODY_ERRORS, KeenErrors, KeenOperation, ProjectParam, ref } from '@app/http';
import { StoredKey } from '@app/storage';
import { ClientReply, abortOnDisconnect } from './abort-on-disconnect';

const NAME_PARAM = ApiParam({
  name: 'name',
  description: `The saved query's name: 1-${MAX_SAVED_QUERY_NAME} letters, digits, "_", "-" or "." (not first).`,
  schema: { type: 'string', example: 'daily-revenue' },
});

const RUN_INFORMATION = {
  type: 'object',
  nullable: true,
  description: "A cached query's refresh state; null for a plain saved query (refresh_rate 0).",
  properties: {
    computed_at: { type: 'string', format: 'date-time', nullable: true },
    next_refresh_at: { type: 'string', format: 'date-time', nullable: true },
  },
};

const DEFINITION_PROPERTIES = {
  query_name: { type: 'string' },
  query: ref('QueryBody'),
  metadata: { type: 'object', additionalProperties: true },
  refresh_rate: {
    type: 'integer',
    description: `0, or ${MIN_REFRESH_RATE}-${MAX_REFRESH_RATE} seconds.`,
  },
};

const VIEW_SCHEMA = {
  type: 'object',
  properties: {
    ...DEFINITION_PROPERTIES,
    created_date: { type: 'string', format: 'date-time' },
    last_modified_date: { type: 'string', format: 'date-time' },
    run_information: RUN_INFORMATION,
    urls: {
      type: 'object',
      properties: {
        cached_query_url: { type: 'string' },
        cached_query_results_url: { type: 'string' },
      },
    },
  },
};

const RESULT_SCHEMA = {
  type: 'object',
  properties: {
    ...VIEW_SCHEMA.properties,
    result: { description: "The answer, in Keen's shape for the analysis." },
    run_information: {
      type: 'object',
      properties: {
        ...RUN_INFORMATION.properties,
        served_from: { type: 'string', enum: ['cache', 'live'] },
        live_reason: { type: 'string', enum: ['saved_query', 'not_computed_yet', 'scoped_key'] },
        events_scanned: {
          type: 'integer',
          nullable: true,
          description: '0 for a cached answer (no event was read); null for a live one.',
        },
      },
    },
  },
};

interface StatusReply {
  status(code: number): { send(body: unknown): unknown };
}

/**
 * Keen's saved and cached queries. A saved query (refresh_rate 0) is
 * computed on every result request; a cached one is computed in the
 * background by the query processes and served from the stored answer.
 */
@ApiTags('saved queries')
@ProjectParam()
@Controller('3.0/projects/:projectId/queries/saved')
export class SavedQueriesController {
  constructor(private readonly saved: SavedQueriesService) {}

  @Get()
  @RequireKey('master')
  @KeenOperation({ summary: "The project's saved and cached queries, by name", key: 'master' })
  @ApiResponse({
    status: 200,
    description: 'The definitions.',
    schema: { type: 'array', items: VIEW_SCHEMA },
  })
  list(@Param('projectId') projectId: string): Promise<SavedQueryView[]> {
    return this.saved.list(projectId);
  }

  @Get(':name')
  @RequireKey('master')
  @KeenOperation({ summary: "One saved query's definition", key: 'master' })
  @NAME_PARAM
  @ApiResponse({ status: 200, description: 'The definition.', schema: VIEW_SCHEMA })
  @KeenErrors(400)
  get(@Param('projectId') projectId: string, @Param('name') name: string): Promise<SavedQueryView> {
    return this.saved.get(projectId, name);
  }

  @Put(':name')
  @RequireKey('master')
  @KeenOperation({
    summary:
      'Create or replace a saved query (refresh_rate 0) or a cached query (refresh_rate 14400-86400)',
    key: 'master',
    description:
      'The query is checked as it will run: a bad definition is a 400 now. A replace drops a cached ' +
      "query's stored answer; the new one is computed within SAVED_QUERY_REFRESH_CHECK_MS. See docs/saved-queries.md.",
  })
  @NAME_PARAM
  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({
    required: true,
    schema: { type: 'object', required: ['query'], properties: DEFINITION_PROPERTIES },
  })
  @ApiResponse({ status: 201, description: 'Created.', schema: VIEW_SCHEMA })
  @ApiResponse({ status: 200, description: 'Replaced.', schema: VIEW_SCHEMA })
  @KeenErrors(...BODY_ERRORS)
  async put(
    @Param('projectId') projectId: string,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res() reply: StatusReply,
  ): Promise<void> {
    const { created, view } = await this.saved.put(projectId, name, body);
    reply.status(created ? 201 : 200).send(view);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequireKey('master')
  @KeenOperation({ summary: 'Delete a saved query', key: 'master' })
  @NAME_PARAM
  @ApiResponse({ status: 204, description: 'Deleted.' })
  @KeenErrors(400)
  async delete(@Param('projectId') projectId: string, @Param('name') name: string): Promise<void> {
    await this.saved.delete(projectId, name);
  }

  @Get(':name/result')
  @RequireKey(['saved_queries', 'cached_queries'])
  @KeenOperation({
    summary:
      'The definition plus its result: a cached query from its stored answer, a saved query computed now',
    key: 'read',
    description:
      'An access key needs `saved_queries` (refresh_rate 0) or `cached_queries` (cached). A key with forced ' +
      'filters gets a live answer with its filters applied (run_information.live_reason "scoped_key").',
  })
  @NAME_PARAM
  @ApiResponse({
    status: 200,
    description: 'The definition and its result.',
    schema: RESULT_SCHEMA,
  })
  @KeenErrors(400, 429, 504)
  result(
    @Param('projectId') projectId: string,
    @Param('name') name: string,
    @CallerKey() key: StoredKey,
    @Res({ passthrough: true }) reply: ClientReply,
  ): Promise<SavedQueryResultView> {
    return this.saved.result(
      projectId,
      name,
      (record) => {
        const kind = record.refreshRate > 0 ? 'cached_queries' : 'saved_queries';
        if (!keyAllows(key, kind)) throw forbidden(key, kind);
        assertNamedAllowed(key, kind, record.name);
        return scopeOfKey(key);
      },
      abortOnDisconnect(reply),
    );
  }
}
