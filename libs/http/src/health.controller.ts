import { Controller, Get, Inject } from '@nestjs/common';
import { ApiResponse, ApiTags } from '@nestjs/swagger';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import { storeSpace } from '@app/storage';
import { KeenOperation } from './openapi/keen-operation';
import { ref } from './openapi/schemas';

/** How soon a load balancer may ask again; space coming back is noticed on the next probe. */
const NOT_READY_RETRY_AFTER_S = 5;

/**
 * Liveness and readiness are separate questions: a process whose store is out
 * of space is alive (restarting it would not help and loses nothing), but
 * should not be sent writes it can only refuse with 507.
 */
@ApiTags('health')
@Controller()
export class HealthController {
  constructor(@Inject(TALLY_CONFIG) private readonly config: TallyConfig) {}

  @Get('healthz')
  @KeenOperation({
    summary: 'Liveness: the process answers. Stays ok while the store is out of space.',
    key: 'none',
  })
  @ApiResponse({ status: 200, description: 'The process is up.', schema: ref('Health') })
  health(): { status: 'ok'; pool: string } {
    return { status: 'ok', pool: this.config.pool };
  }

  @Get('readyz')
  @KeenOperation({
    summary:
      'Readiness: 200 {status:"ready"}, or 503 naming the reason (the store is out of space) until it has room again',
    key: 'none',
  })
  @ApiResponse({ status: 200, description: 'Ready for traffic.', schema: ref('Ready') })
  ready(): { status: 'ready'; pool: string } {
    const problem = storeSpace.problem();
    if (problem) {
      throw new TallyError(
        'unavailable',
        'InsufficientStorageError',
        problem,
        NOT_READY_RETRY_AFTER_S,
      );
    }
    return { status: 'ready', pool: this.config.pool };
  }
}
