import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { register } from 'prom-client';
import { notReadyReason, ReadinessCheck } from '@app/storage';

/** How soon a prober may ask again after a 503 (as the app processes say it). */
const NOT_READY_RETRY_AFTER_S = 5;

export interface WorkerHttpOptions {
  host: string;
  /** 0: no server at all (WORKER_HTTP_PORT=0). */
  port: number;
  readyTimeoutMs: number;
  /**
   * What readiness depends on now, or the reason the worker cannot be ready
   * whatever its dependencies say (still starting, draining).
   */
  readiness: () => ReadinessCheck[] | { notReady: string };
}

export interface WorkerHttp {
  /** The port it listens on (the configured one, or the one the OS chose for port 0 in tests). */
  port: number;
  close(): Promise<void>;
}

/**
 * The worker's only HTTP surface, plain node:http (the worker loads no Nest):
 * GET /healthz (the event loop answers), GET /readyz (one queue shard and the
 * event store answer within READY_TIMEOUT_MS; the same shapes as the app
 * processes, pool "worker") and GET /metrics (prom-client's default registry).
 */
export async function startWorkerHttp(options: WorkerHttpOptions): Promise<WorkerHttp | null> {
  if (options.port === 0) return null;
  const server = createServer((req, res) => {
    void handle(req, res, options).catch((error: Error) =>
      sendError(res, 500, 'InternalServerError', error.message),
    );
  });
  // A prober that opens a connection and sends nothing must not hold it.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: WorkerHttpOptions,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const routes = ['/healthz', '/readyz', '/metrics'];
  if (!routes.includes(path)) {
    sendError(res, 404, 'ResourceNotFoundError', 'Resource not found.');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendError(res, 405, 'MethodNotAllowedError', `Method ${req.method} not allowed.`);
    return;
  }
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok', pool: 'worker' });
  } else if (path === '/readyz') {
    const readiness = options.readiness();
    const reason =
      'notReady' in readiness
        ? `Not ready: ${readiness.notReady}`
        : await notReadyReason(readiness, options.readyTimeoutMs);
    if (reason) {
      res.setHeader('retry-after', String(NOT_READY_RETRY_AFTER_S));
      sendError(res, 503, 'ServiceUnavailableError', reason);
    } else {
      sendJson(res, 200, { status: 'ready', pool: 'worker' });
    }
  } else {
    const body = await register.metrics();
    res.statusCode = 200;
    res.setHeader('content-type', register.contentType);
    res.setHeader('cache-control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}

/** Keen's error shape, as the app processes answer it. */
function sendError(res: ServerResponse, status: number, errorCode: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, {
    message,
    error_code: errorCode,
    request_id: randomBytes(16).toString('hex'),
  });
}
