import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueryResponse } from '@app/query';
import { RequireKey } from '@app/auth';
import { QueryService } from './query.service';
import { ClientRequest, abortOnDisconnect } from './abort-on-disconnect';
import { NdjsonReply, sendNdjson } from './ndjson';

@ApiTags('queries')
@Controller('3.0/projects/:projectId/queries')
export class QueriesController {
  constructor(private readonly queries: QueryService) {}

  @Get('extraction/stream')
  @RequireKey('read')
  @ApiOperation({ summary: 'Extraction of any size as NDJSON (one event per line), parameters in the query string' })
  streamGet(
    @Param('projectId') projectId: string,
    @Query() params: Record<string, unknown>,
    @Req() req: ClientRequest,
    @Res() reply: NdjsonReply,
  ): Promise<void> {
    const signal = abortOnDisconnect(req);
    return sendNdjson(reply, this.queries.streamExtraction(projectId, params, signal));
  }

  @Post('extraction/stream')
  @RequireKey('read')
  @ApiOperation({ summary: 'Extraction of any size as NDJSON, parameters in the JSON body' })
  streamPost(
    @Param('projectId') projectId: string,
    @Body() body: unknown,
    @Req() req: ClientRequest,
    @Res() reply: NdjsonReply,
  ): Promise<void> {
    const signal = abortOnDisconnect(req);
    return sendNdjson(reply, this.queries.streamExtraction(projectId, body ?? {}, signal));
  }

  @Get(':analysis')
  @RequireKey('read')
  @ApiOperation({ summary: 'Run an analysis; parameters in the query string (objects as JSON text)' })
  get(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Query() params: Record<string, unknown>,
    @Req() req: ClientRequest,
  ): Promise<QueryResponse> {
    return this.queries.run(projectId, analysis, params, abortOnDisconnect(req));
  }

  @Post(':analysis')
  @HttpCode(200)
  @RequireKey('read')
  @ApiOperation({ summary: 'Run an analysis; parameters in the JSON body' })
  post(
    @Param('projectId') projectId: string,
    @Param('analysis') analysis: string,
    @Body() body: unknown,
    @Req() req: ClientRequest,
  ): Promise<QueryResponse> {
    return this.queries.run(projectId, analysis, body ?? {}, abortOnDisconnect(req));
  }
}
