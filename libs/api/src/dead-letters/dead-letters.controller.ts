import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { RequireKey } from '@app/auth';
import { DeadLetterAdmin, isTruncatedDeadLetter, PurgeOutcome, RequeueOutcome } from '@app/core';
import { DeadLetter } from '@app/storage';
import { BODY_ERRORS, KeenErrors, KeenOperation, ProjectParam, WRITE_ERRORS } from '@app/http';
import {
  parseDeadLetterId,
  parseListParams,
  parseSelection,
  MAX_IDS,
  MAX_PAGE,
} from './dead-letter-params';

const SUMMARY_FIELDS = {
  id: { type: 'string', description: "The event's keen.id." },
  collection: { type: 'string' },
  failed_at: { type: 'string', format: 'date-time' },
  reason: { type: 'string', description: 'Why the store refused it (the latest refusal).' },
};
const SUMMARY_SCHEMA = { type: 'object', properties: SUMMARY_FIELDS };
const SELECTION_SCHEMA: SchemaObject = {
  oneOf: [
    {
      type: 'object',
      required: ['ids'],
      additionalProperties: false,
      properties: {
        ids: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_IDS,
          items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
        },
      },
    },
    {
      type: 'object',
      required: ['all'],
      additionalProperties: false,
      properties: { all: { type: 'boolean', enum: [true] } },
    },
  ],
};
const MORE = {
  type: 'boolean',
  description: '"all" stopped after 5000 entries: send the same request again for the rest.',
};

export interface DeadLetterSummary {
  id: string;
  collection: string;
  failed_at: string;
  reason: string;
}

const summary = (e: DeadLetter): DeadLetterSummary => ({
  id: e.event.id,
  collection: e.event.collection,
  failed_at: e.failedAt,
  reason: e.reason,
});

/**
 * A project's dead letters: events its write was acknowledged for but the
 * store refused, set aside by the worker. Master key only (the bodies are the
 * project's data, and requeue/purge change what is stored). Served by the
 * query pool (nginx routes these paths there) and standalone.
 */
@ApiTags('dead letters')
@ProjectParam()
@Controller('3.0/projects/:projectId/dead_letters')
export class DeadLettersController {
  constructor(private readonly admin: DeadLetterAdmin) {}

  @Get()
  @RequireKey('master')
  @KeenOperation({
    summary: `List dead letters, oldest keen.id first; page with limit (1-${MAX_PAGE}, default 100) and after (next_after of the previous page)`,
    key: 'master',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE },
  })
  @ApiQuery({
    name: 'after',
    required: false,
    schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
  })
  @ApiResponse({
    status: 200,
    description: 'One page; next_after is null on the last one.',
    schema: {
      type: 'object',
      properties: {
        dead_letters: { type: 'array', items: SUMMARY_SCHEMA },
        next_after: { type: 'string', nullable: true },
      },
    },
  })
  @KeenErrors(400)
  async list(
    @Param('projectId') projectId: string,
    @Query() query: Record<string, unknown>,
  ): Promise<{ dead_letters: DeadLetterSummary[]; next_after: string | null }> {
    const { limit, after } = parseListParams(query);
    const page = await this.admin.list(projectId, limit, after);
    return {
      dead_letters: page.map(summary),
      next_after: page.length === limit ? page[page.length - 1].event.id : null,
    };
  }

  @Get(':deadLetterId')
  @RequireKey('master')
  @KeenOperation({
    summary: 'One dead letter with its event body, as the store refused it',
    key: 'master',
  })
  @ApiParam({
    name: 'deadLetterId',
    description: "The event's keen.id.",
    schema: { type: 'string' },
  })
  @ApiResponse({
    status: 200,
    description: 'The entry.',
    schema: {
      type: 'object',
      properties: {
        ...SUMMARY_FIELDS,
        batch_id: { type: 'string', nullable: true },
        truncated: {
          type: 'boolean',
          description: 'The body was cut when set aside; it cannot be requeued.',
        },
        event: { type: 'object', additionalProperties: true },
      },
    },
  })
  @KeenErrors(400)
  async show(@Param('projectId') projectId: string, @Param('deadLetterId') id: string) {
    const entry = await this.admin.get(projectId, parseDeadLetterId(id));
    return {
      ...summary(entry),
      batch_id: entry.batchId ?? null,
      truncated: isTruncatedDeadLetter(entry),
      event: entry.event.event,
    };
  }

  @Post('requeue')
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary:
      'Store dead letters again through the write path ({"ids": [...]} or {"all": true}); stored or already-stored entries are removed, refused ones kept with the new reason',
    key: 'master',
  })
  @ApiBody({ schema: SELECTION_SCHEMA, required: true })
  @ApiResponse({
    status: 200,
    description: 'What the requeue did.',
    schema: {
      type: 'object',
      properties: {
        inserted: { type: 'integer' },
        duplicates: { type: 'integer' },
        still_rejected: { type: 'integer' },
        skipped: { type: 'integer' },
        not_found: { type: 'integer' },
        more: MORE,
      },
    },
  })
  @KeenErrors(...BODY_ERRORS, ...WRITE_ERRORS)
  async requeue(@Param('projectId') projectId: string, @Body() body: unknown) {
    const o: RequeueOutcome = await this.admin.requeue(projectId, parseSelection(body));
    return {
      inserted: o.inserted,
      duplicates: o.duplicates,
      still_rejected: o.stillRejected,
      skipped: o.skipped,
      not_found: o.notFound,
      more: o.more,
    };
  }

  @Delete()
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Purge dead letters for good ({"ids": [...]} or {"all": true}); their events are lost',
    key: 'master',
  })
  @ApiBody({ schema: SELECTION_SCHEMA, required: true })
  @ApiResponse({
    status: 200,
    description: 'What was removed.',
    schema: {
      type: 'object',
      properties: { removed: { type: 'integer' }, not_found: { type: 'integer' }, more: MORE },
    },
  })
  @KeenErrors(...BODY_ERRORS)
  async purge(@Param('projectId') projectId: string, @Body() body: unknown) {
    const o: PurgeOutcome = await this.admin.purge(projectId, parseSelection(body));
    return { removed: o.removed, not_found: o.notFound, more: o.more };
  }
}
