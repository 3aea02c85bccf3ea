import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put } from '@nestjs/common';
import { ApiBody, ApiResponse, ApiTags } from '@nestjs/swagger';
import { RequireKey } from '@app/auth';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import {
  assertRetentionDays,
  DeleteJobView,
  MAX_RETENTION_DAYS,
  RetentionSweep,
  toDeleteJobView,
} from '@app/core';
import { METADATA_STORE, MetadataStore } from '@app/storage';
import { BODY_ERRORS, KeenErrors, KeenOperation, ProjectParam, ref } from '@app/http';

export interface RetentionView {
  /** Days events are kept (by keen.timestamp); null: for ever. */
  days: number | null;
  /** How often the query processes look for events past it (ms). */
  sweep_interval_ms: number;
  /** The delete jobs of the latest sweep that found events past the TTL (their progress). */
  jobs: DeleteJobView[];
}

const VIEW_SCHEMA = {
  type: 'object',
  properties: {
    days: { type: 'integer', nullable: true, minimum: 1, maximum: MAX_RETENTION_DAYS },
    sweep_interval_ms: { type: 'integer' },
    jobs: { type: 'array', items: ref('DeleteJob') },
  },
};

/**
 * A project's retention: a TTL in days, after which its events are deleted
 * by background delete jobs (libs/core/src/retention). Master key only.
 */
@ApiTags('retention')
@ProjectParam()
@Controller('3.0/projects/:projectId/retention')
export class RetentionController {
  constructor(
    @Inject(METADATA_STORE) private readonly metadata: MetadataStore,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
    private readonly sweep: RetentionSweep,
  ) {}

  @Get()
  @RequireKey('master')
  @KeenOperation({
    summary: "The project's retention (days, null: none) and the delete jobs of its latest sweep",
    key: 'master',
  })
  @ApiResponse({ status: 200, description: 'The retention.', schema: VIEW_SCHEMA })
  async show(@Param('projectId') projectId: string): Promise<RetentionView> {
    return this.view(projectId, await this.metadata.getRetention(projectId));
  }

  @Put()
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: `Set the retention: {"days": N} (1-${MAX_RETENTION_DAYS}); events older than N days are deleted by background jobs`,
    key: 'master',
  })
  @ApiBody({
    required: true,
    schema: {
      type: 'object',
      required: ['days'],
      additionalProperties: false,
      properties: { days: { type: 'integer', minimum: 1, maximum: MAX_RETENTION_DAYS } },
    },
  })
  @ApiResponse({ status: 200, description: 'The retention as set.', schema: VIEW_SCHEMA })
  @KeenErrors(...BODY_ERRORS)
  async set(@Param('projectId') projectId: string, @Body() body: unknown): Promise<RetentionView> {
    const days = assertRetentionDays(daysOf(body));
    await this.metadata.setRetention(projectId, days);
    return this.view(projectId, days);
  }

  @Delete()
  @HttpCode(200)
  @RequireKey('master')
  @KeenOperation({
    summary: 'Clear the retention: events are kept for ever (jobs already queued finish)',
    key: 'master',
  })
  @ApiResponse({ status: 200, description: 'The retention, now none.', schema: VIEW_SCHEMA })
  async clear(@Param('projectId') projectId: string): Promise<RetentionView> {
    await this.metadata.setRetention(projectId, null);
    return this.view(projectId, null);
  }

  private async view(projectId: string, days: number | null): Promise<RetentionView> {
    const jobs = days === null ? [] : await this.sweep.latestJobs(projectId, days);
    return {
      days,
      sweep_interval_ms: this.config.deletes.retentionSweepMs,
      jobs: jobs.map(toDeleteJobView),
    };
  }
}

/** `days` from `{"days": N}` and nothing else. */
function daysOf(body: unknown): unknown {
  if (
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    Object.keys(body).length !== 1 ||
    !Object.hasOwn(body, 'days')
  ) {
    throw new TallyError('invalid', 'InvalidParameterError', 'The body must be {"days": N}.');
  }
  return (body as { days: unknown }).days;
}
