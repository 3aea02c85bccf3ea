import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueryResponse } from '@app/query';
import { RequireKey } from '@app/auth';
import { QueryService } from './query.service';

@ApiTags('queries')
@Controller('3.0/projects/:projectId/queries')
export class QueriesController {
  constructor(private readonly queries: QueryService) {}

  @Get(':analysis')
  @RequireKey('read')
  @ApiOperation({ summary: 'Run an analysis; parameters in the query string (objects as JSON text)' })
  get(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Query() params: Record<string, unknown>,
  ): Promise<QueryResponse> {
    return this.queries.run(projectId, analysis, params);
  }

  @Post(':analysis')
  @HttpCode(200)
  @RequireKey('read')
  @ApiOperation({ summary: 'Run an analysis; parameters in the JSON body' })
  post(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Body() body: unknown,
  ): Promise<QueryResponse> {
    return this.queries.run(projectId, analysis, body ?? {});
  }
}
