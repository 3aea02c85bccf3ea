import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { TallyConfig } from '@app/config';
import { KeenExceptionFilter } from './keen-exception.filter';
import { setupOpenApi } from './openapi';

/**
 * Builds a Fastify-backed Nest app the way every Tally HTTP process needs it:
 * body limits, JSON parsing for text/plain beacons, the pool header on every
 * response (errors included), Keen-shaped errors and graceful shutdown.
 */
export async function createHttpApp(rootModule: Type<unknown> | DynamicModule, config: TallyConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.limits.maxRequestBytes,
    // Collection and property names may be 256 characters and property paths
    // nest (`a.b.c`); find-my-way's default (100) answered 414 for valid names.
    // Over-long names now reach validation and get a Keen-shaped 400.
    maxParamLength: 4096,
    // Request ids for logs; keen.id derivation reads the headers itself.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && header.length <= 128 ? header : randomUUID();
    },
    // Node closes idle keep-alive sockets on close(); in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  const fastify = app.getHttpAdapter().getInstance();

  fastify.addHook('onRequest', (_req, reply, done) => {
    reply.header('x-tally-pool', config.pool);
    done();
  });

  // Browsers' sendBeacon posts JSON as text/plain; some clients send no type at all.
  const parseJson = (_req: unknown, body: string, done: (err: Error | null, value?: unknown) => void) => {
    if (body.length === 0) {
      done(Object.assign(new Error('The request body is empty.'), { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 }));
      return;
    }
    try {
      done(null, JSON.parse(body));
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }));
    }
  };
  fastify.addContentTypeParser('text/plain', { parseAs: 'string' }, parseJson);
  fastify.addContentTypeParser('*', { parseAs: 'string' }, parseJson);

  app.useGlobalFilters(new KeenExceptionFilter());
  app.enableShutdownHooks();
  app.enableCors();
  setupOpenApi(app as INestApplication);
  return app;
}

export async function listen(app: NestFastifyApplication, config: TallyConfig): Promise<void> {
  await app.listen(config.http.port, config.http.host);
}
