import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { register } from 'prom-client';
import { ensureProcessMetrics } from './http-metrics';

interface TextReply {
  header(name: string, value: string): unknown;
}

/**
 * `GET /metrics`: every metric of this process in Prometheus' text format,
 * from prom-client's default registry (what libs/http, libs/core, libs/queue
 * and libs/auth register). No key: operators keep it off the public listener
 * (nginx answers 404 for /metrics; docs/operations.md, "Metrics"). Not part of
 * the Keen API, so not in /openapi.json (nor, therefore, in the API fuzz).
 */
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor() {
    ensureProcessMetrics();
  }

  @Get('metrics')
  @Header('cache-control', 'no-store')
  async metrics(@Res({ passthrough: true }) reply: TextReply): Promise<string> {
    // Collectors run now (queue depth, breaker state, key-cache age); each bounds its own time.
    const text = await register.metrics();
    reply.header('content-type', register.contentType);
    return text;
  }
}
