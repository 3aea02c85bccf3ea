import { DynamicModule, INestApplication, Logger as NestLogger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { TallyConfig } from '@app/config';
import { parseJsonText, TallyError } from '@app/events';
import { keenClientErrorHandler } from './client-error.handler';
import { KeenExceptionFilter } from './keen-exception.filter';
import { recordHttpRequest } from './metrics/http-metrics';
import { watchThreadCpu } from './metrics/thread-cpu';
import { PlatformRootModule } from './metrics/metrics.module';
import { setupOpenApi } from './openapi/openapi-document';
import { isClientRequestId } from './request-origin';
import { logAnsweredRequest } from './request-log';
import { RouteTable } from './route-table';
import { applySecurityHeaders } from './security-headers';

/** Collection and property names are at most 256 characters; paths of them nest. */
const MAX_PARAM_LENGTH = 4096;

// A `%` not followed by two hex digits: find-my-way would keep it verbatim in
// a parameter (a collection once got stored under a name with a broken escape).
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Methods that carry no body: whatever blank text comes with them is no body. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/** Headers Keen's browser SDKs and our own clients send, allowed cross-origin. */
const CORS_HEADERS = ['Authorization', 'Content-Type', 'X-Request-ID', 'Accept'];

interface RouterReply {
  code(status: number): RouterReply;
  header(name: string, value: string): RouterReply;
  getHeader(name: string): unknown;
  send(body: unknown): unknown;
}

/**
 * Errors the router raises before any hook runs (a malformed escape in the
 * path): Keen-shaped, and without Fastify's message, which quotes the URL and
 * so the api_key.
 */
function routerErrorHandler(pool: string) {
  return (error: unknown, req: { id: string; url: string }, reply: RouterReply): void => {
    applySecurityHeaders(req.url, reply);
    const tooLong = (error as { code?: unknown } | null)?.code === 'FST_ERR_MAX_PARAM_LENGTH';
    reply
      .code(tooLong ? 414 : 400)
      .header('x-tally-pool', pool)
      .send(
        tooLong
          ? {
              message: `A path segment is longer than the server accepts (${MAX_PARAM_LENGTH} characters); names are at most 256.`,
              error_code: 'RequestUriTooLongError',
              request_id: req.id,
            }
          : {
              message: 'The URL is not valid (a malformed percent-escape or character).',
              error_code: 'InvalidRequestError',
              request_id: req.id,
            },
      );
  };
}

/**
 * Builds a Fastify-backed Nest app the way every Tally HTTP process needs it:
 * body limits and a body timeout, one JSON parser for every content type,
 * the pool and security headers on every response (errors included),
 * Keen-shaped errors for every status (Node's and Fastify's own included),
 * 405 for a known path with an unserved method, graceful shutdown, and
 * Prometheus metrics: every request counted by route template, GET /metrics.
 */
export async function createHttpApp(
  rootModule: Type<unknown> | DynamicModule,
  config: TallyConfig,
): Promise<NestFastifyApplication> {
  const clientErrors = new NestLogger('http');
  const adapter = new FastifyAdapter({
    bodyLimit: config.limits.maxRequestBytes,
    // Collection and property names may be 256 characters and property paths
    // nest (`a.b.c`); find-my-way's default (100) answered 414 for valid names.
    // Over-long names now reach validation and get a Keen-shaped 400.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Request ids in logs and error bodies. A client's id is kept only when it
    // is a plain token (no markup, no control characters): it is echoed back.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && isClientRequestId(header) ? header : randomUUID();
    },
    // A body trickled in a byte at a time is cut off (408) instead of holding a socket.
    requestTimeout: config.http.requestTimeoutMs,
    // Node enforces these on a sweep (every 30 s by default) and reads them only
    // at construction (set later, the 60 s header default wins): pass them here.
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: Math.min(10_000, config.http.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, config.http.requestTimeoutMs),
    },
    clientErrorHandler: keenClientErrorHandler((code) =>
      clientErrors.log(`client error before routing (${code ?? 'unknown'}); answered and closed`),
    ),
    // Typed loosely: Nest's adapter carries its own copy of Fastify's types.
    frameworkErrors: routerErrorHandler(config.pool) as never,
    // Node closes idle keep-alive sockets on close(); in-flight requests finish.
    forceCloseConnections: 'idle',
    // Shutdown answers its own Keen-shaped 503 (below) instead of Fastify's body.
    return503OnClosing: false,
  });
  // bodyParser: false keeps Nest from adding its JSON and form parsers: every
  // content type goes through the one parser below.
  // The app's module inside the platform's root, which adds GET /metrics.
  const app = await NestFactory.create<NestFastifyApplication>(
    PlatformRootModule.around(rootModule),
    adapter,
    {
      bufferLogs: true,
      bodyParser: false,
    },
  );
  app.useLogger(app.get(Logger));
  // On Linux the main thread's id is the process id.
  watchThreadCpu('main', () => process.pid);
  const fastify = app.getHttpAdapter().getInstance();

  const routes = new RouteTable();
  fastify.addHook('onRoute', (route) => routes.add(route.method, route.url));

  // Every answered request: logged when it failed (request-log.ts), and
  // counted by the route template it matched (never the raw URL: it holds
  // project ids, names and api_key values); metrics/http-metrics.ts.
  fastify.addHook('onResponse', (req, reply, done) => {
    logAnsweredRequest(req, reply.statusCode, reply.elapsedTime);
    recordHttpRequest(
      config.pool,
      req.routeOptions?.url,
      req.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });

  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  fastify.addHook('onRequest', (req, reply, done) => {
    reply.header('x-tally-pool', config.pool);
    applySecurityHeaders(req.url, reply);
    if (closing) {
      reply.header('connection', 'close');
      done(
        new TallyError(
          'unavailable',
          'ServiceUnavailableError',
          'The server is shutting down; retry on another instance.',
          1,
        ),
      );
      return;
    }
    if (MALFORMED_ESCAPE.test(req.url)) {
      done(
        new TallyError(
          'invalid',
          'InvalidRequestError',
          'The URL has a malformed percent-escape (% must be followed by two hex digits).',
        ),
      );
      return;
    }
    done();
  });

  // Keen's clients send JSON as application/json, browsers' sendBeacon as
  // text/plain, some clients with no type or a wrong one: every body is read
  // as JSON by the same parser, and anything else is a 400, never a 5xx.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    // A DELETE (or a query POST) without a body is normal; a write without one
    // is caught by validation. keen-analysis' del() and the Python client's
    // delete_events() send DELETE with Content-Type: application/json and no
    // body; a method that takes no body reads whitespace the same way.
    if (text.length === 0 || (BODYLESS_METHODS.has(req.method) && text.trim().length === 0)) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseJsonText(text));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.useGlobalFilters(new KeenExceptionFilter(routes));
  app.enableShutdownHooks();
  app.enableCors({
    origin: '*',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: CORS_HEADERS,
    exposedHeaders: [
      'x-tally-pool',
      'retry-after',
      'x-tally-events-scanned',
      'x-tally-events-deleted',
      'x-tally-events-updated',
    ],
    maxAge: 86_400,
    // An OPTIONS without preflight headers gets the same empty 204, not a
    // plain-text 400 outside the API's error shape.
    strictPreflight: false,
  });
  setupOpenApi(app as INestApplication);
  return app;
}

export async function listen(app: NestFastifyApplication, config: TallyConfig): Promise<void> {
  await app.listen(config.http.port, config.http.host);
}
