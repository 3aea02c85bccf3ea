import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import {
  EVENT_STORE,
  EventStore,
  METADATA_STORE,
  MetadataStore,
  notReadyReason,
  ReadinessCheck,
  storeSpace,
} from '@app/storage';
import { INGEST_QUEUE, IngestQueue } from '@app/queue';
import { KeenOperation } from './openapi/keen-operation';
import { ref } from './openapi/schemas';

/** How soon a load balancer may ask again; space coming back is noticed on the next probe. */
const NOT_READY_RETRY_AFTER_S = 5;

/**
 * Liveness and readiness are separate questions. Liveness (/healthz) is the
 * event loop answering: a process whose store is out of space or unreachable
 * is alive (restarting it would not help and loses nothing). Readiness
 * (/readyz) is whether this pool can serve now: its own dependencies answer a
 * cheap probe within READY_TIMEOUT_MS (docs/operations.md, "Health and readiness"):
 *  - ingest: one queue shard (the metadata store is not needed per request:
 *    keys come from the cache, so a metadata outage leaves ingest ready);
 *  - query: the event store and the metadata store;
 *  - standalone: the SQLite store;
 * and, everywhere, the store is not out of space.
 */
@ApiTags('health')
@Controller()
export class HealthController {
  private readonly checks: ReadinessCheck[];

  constructor(
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
    @Optional() @Inject(EVENT_STORE) events?: EventStore,
    @Optional() @Inject(METADATA_STORE) metadata?: MetadataStore,
    @Optional() @Inject(INGEST_QUEUE) queue?: IngestQueue,
  ) {
    const checks: Array<ReadinessCheck | false | undefined> =
      config.pool === 'ingest'
        ? [queue && { name: 'queue', probe: queue }]
        : config.pool === 'query'
          ? [
              events && { name: 'event store', probe: events },
              metadata && { name: 'metadata store', probe: metadata },
            ]
          : [events && { name: 'store', probe: events }];
    this.checks = checks.filter((c): c is ReadinessCheck => !!c);
  }

  @Get('healthz')
  @KeenOperation({
    summary:
      'Liveness: the process (its event loop) answers. Stays ok while a dependency is down or the store is out of space.',
    key: 'none',
  })
  @ApiResponse({ status: 200, description: 'The process is up.', schema: ref('Health') })
  health(): { status: 'ok'; pool: string } {
    return { status: 'ok', pool: this.config.pool };
  }

  @Get('readyz')
  @KeenOperation({
    summary:
      'Readiness: 200 {status:"ready"} when this pool\'s dependencies answer within READY_TIMEOUT_MS ' +
      '(ingest: a queue shard; query: the event and metadata stores; standalone: its store) and the store ' +
      'has room; otherwise 503 naming the failing dependency (or the lack of space)',
    key: 'none',
  })
  @ApiResponse({ status: 200, description: 'Ready for traffic.', schema: ref('Ready') })
  async ready(): Promise<{ status: 'ready'; pool: string }> {
    const problem = storeSpace.problem();
    if (problem) {
      throw new TallyError(
        'unavailable',
        'InsufficientStorageError',
        problem,
        NOT_READY_RETRY_AFTER_S,
      );
    }
    const reason = await notReadyReason(this.checks, this.config.http.readyTimeoutMs);
    if (reason) {
      throw new TallyError(
        'unavailable',
        'ServiceUnavailableError',
        reason,
        NOT_READY_RETRY_AFTER_S,
      );
    }
    return { status: 'ready', pool: this.config.pool };
  }
}
