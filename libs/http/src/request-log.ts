import { PinoLogger } from 'nestjs-pino';
import { redactUrl } from './redact';

/**
 * 5xx that are conditions, not bugs: the queue or store is unavailable (503),
 * a query ran out of time (504), the store is out of space (507). Readiness
 * probes meet 503 every few seconds while a disk is full.
 */
const EXPECTED_5XX = new Set([503, 504, 507]);

export type RequestLogLevel = 'error' | 'warn' | undefined;

/**
 * Successful requests are not logged one by one (the write path serves
 * thousands a second); 4xx and the expected 5xx are warnings, other 5xx errors.
 */
export function requestLogLevel(statusCode: number): RequestLogLevel {
  if (statusCode < 400) return undefined;
  return statusCode >= 500 && !EXPECTED_5XX.has(statusCode) ? 'error' : 'warn';
}

/** The parts of a Fastify request the log line reads. */
export interface LoggedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  socket?: { remoteAddress?: string };
}

/**
 * The line for one answered request: its id (also in the error body), method,
 * redacted URL and a few harmless headers; never the Authorization header or
 * an api_key.
 */
export function requestLogLine(req: LoggedRequest, statusCode: number, responseTimeMs: number) {
  return {
    req: {
      id: req.id,
      method: req.method,
      url: redactUrl(req.url),
      user_agent: req.headers['user-agent'],
      content_type: req.headers['content-type'],
      content_length: req.headers['content-length'],
      remote_address: req.socket?.remoteAddress,
    },
    res: { status_code: statusCode },
    responseTime: Math.round(responseTimeMs),
  };
}

/**
 * Logs a request once it is answered, from Fastify's onResponse hook. This
 * replaces a per-request logging middleware, which ran every request through
 * Express-style middleware and an async-context store: on the single-event
 * write path that was a fifth of the server's throughput
 * (docs/benchmarks.md, standalone ingest).
 */
export function logAnsweredRequest(
  req: LoggedRequest,
  statusCode: number,
  responseTimeMs: number,
): void {
  const level = requestLogLevel(statusCode);
  if (!level) return;
  PinoLogger.root[level](requestLogLine(req, statusCode, responseTimeMs), 'request completed');
}
