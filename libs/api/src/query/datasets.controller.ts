import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { assertDatasetAccess, CallerKey, RequireKey } from '@app/auth';
import { DatasetResults, DatasetsService, DatasetView } from '@app/core';
import { BODY_ERRORS, KeenErrors, KeenOperation, ProjectParam } from '@app/http';
import { StoredKey } from '@app/storage';

interface StatusReply {
  status(code: number): { send(body: unknown): unknown };
}

const NAME_PARAM = ApiParam({
  name: 'name',
  description:
    'The dataset\'s name: 1-100 letters, digits, "_", "-" or ".", starting with a letter or digit.',
  schema: { type: 'string', example: 'daily-signups-by-team' },
});

const VIEW = {
  type: 'object',
  properties: {
    project_id: { type: 'string' },
    dataset_name: { type: 'string' },
    display_name: { type: 'string' },
    query: {
      type: 'object',
      description: 'A metric query with interval and a relative timeframe (the window).',
    },
    index_by: { type: 'array', items: { type: 'string' } },
    created_date: { type: 'string', format: 'date-time' },
    last_modified_date: { type: 'string', format: 'date-time' },
    status: { type: 'string', enum: ['Building', 'OK'] },
    buckets_pending: { type: 'integer' },
  },
};

/**
 * Keen's cached datasets (docs/datasets.md): definitions with the master key;
 * definitions and results with any key that has the `datasets` right.
 */
@ApiTags('datasets')
@ProjectParam()
@Controller('3.0/projects/:projectId/datasets')
export class DatasetsController {
  constructor(private readonly datasets: DatasetsService) {}

  @Get()
  @RequireKey('datasets')
  @KeenOperation({ summary: "The project's datasets by name, a page at a time", key: 'read' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
  })
  @ApiQuery({ name: 'after_name', required: false, schema: { type: 'string' } })
  @ApiResponse({
    status: 200,
    description: 'A page of datasets.',
    schema: {
      type: 'object',
      properties: {
        datasets: { type: 'array', items: VIEW },
        next_page_url: { type: 'string', nullable: true },
      },
    },
  })
  list(
    @Param('projectId') projectId: string,
    @Query() query: Record<string, unknown>,
    @CallerKey() key: StoredKey,
  ): Promise<{ datasets: DatasetView[]; next_page_url: string | null }> {
    assertDatasetAccess(key, 'list');
    const limit = Number(query.limit ?? 10);
    const after = typeof query.after_name === 'string' ? query.after_name : undefined;
    return this.datasets.list(projectId, Number.isInteger(limit) ? limit : 10, after);
  }

  @Put(':name')
  @RequireKey('master')
  @KeenOperation({
    summary: 'Create or replace a dataset; it is then built from the events in the background',
    key: 'master',
    description: 'Its status is Building until every bucket of its window has been computed.',
  })
  @NAME_PARAM
  @ApiConsumes('application/json', 'text/plain')
  @ApiBody({
    description: 'display_name, query (a metric with interval and a relative timeframe), index_by.',
    schema: {
      type: 'object',
      required: ['query', 'index_by'],
      properties: {
        display_name: { type: 'string' },
        query: { type: 'object' },
        index_by: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      },
    },
  })
  @ApiResponse({ status: 201, description: 'Created.', schema: VIEW })
  @ApiResponse({ status: 200, description: 'Replaced.', schema: VIEW })
  @KeenErrors(...BODY_ERRORS)
  async put(
    @Param('projectId') projectId: string,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res() reply: StatusReply,
  ): Promise<void> {
    const { created, view } = await this.datasets.put(projectId, name, body);
    reply.status(created ? 201 : 200).send(view);
  }

  @Get(':name')
  @RequireKey('datasets')
  @KeenOperation({ summary: "A dataset's definition and build status", key: 'read' })
  @NAME_PARAM
  @ApiResponse({ status: 200, description: 'The dataset.', schema: VIEW })
  get(
    @Param('projectId') projectId: string,
    @Param('name') name: string,
    @CallerKey() key: StoredKey,
  ): Promise<DatasetView> {
    assertDatasetAccess(key, 'retrieve', name);
    return this.datasets.get(projectId, name);
  }

  @Get(':name/results')
  @RequireKey('datasets')
  @KeenOperation({
    summary: 'Results for one index value over whole buckets of the window, read from the dataset',
    key: 'read',
    description:
      'The same [{value, timeframe}] as the live query filtered to the index value (docs/datasets.md).',
  })
  @NAME_PARAM
  @ApiQuery({
    name: 'index_by',
    required: true,
    description: 'The index value, or a JSON object of index properties.',
  })
  @ApiQuery({
    name: 'timeframe',
    required: false,
    description: 'Whole buckets inside the window; default: the window.',
  })
  @ApiResponse({ status: 200, description: 'One entry per bucket.' })
  @KeenErrors(400, 503)
  async results(
    @Param('projectId') projectId: string,
    @Param('name') name: string,
    @Query() query: Record<string, unknown>,
    @CallerKey() key: StoredKey,
  ): Promise<DatasetResults> {
    const limits = assertDatasetAccess(key, 'read', name);
    const definition = await this.datasets.definition(projectId, name);
    return this.datasets.results(definition, query.index_by, query.timeframe, limits);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequireKey('master')
  @KeenOperation({ summary: 'Delete a dataset and everything computed for it', key: 'master' })
  @NAME_PARAM
  @ApiResponse({ status: 204, description: 'Deleted.' })
  async delete(@Param('projectId') projectId: string, @Param('name') name: string): Promise<void> {
    await this.datasets.delete(projectId, name);
  }
}
