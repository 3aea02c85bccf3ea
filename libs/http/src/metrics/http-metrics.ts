import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';

/**
 * The HTTP platform's metrics, in prom-client's default registry so that
 * `/metrics` (metrics.controller.ts) also serves what libs/core, libs/queue and
 * libs/auth register there. Labels come from fixed sets only: the pool name,
 * the route *template* Fastify matched (never the raw URL, which holds project
 * ids, collection names and api_key values), a known method and the status.
 */

/** Label of a request no route matched (404s, 405s, router errors). */
export const UNMATCHED_ROUTE = 'unmatched';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

// One counter per (pool, route, method, status): what an operator alerts on
// (5xx rate per route, 401/403 spikes, 429 from the query gates).
export const httpRequests = new Counter({
  name: 'tally_http_requests_total',
  help: 'HTTP requests answered, by pool, route template, method and status code.',
  labelNames: ['pool', 'route', 'method', 'status'] as const,
});

// Latency per route template, status left out to keep the series count small
// (buckets × routes × methods); errors are read from the counter above.
export const httpRequestDuration = new Histogram({
  name: 'tally_http_request_duration_seconds',
  help: 'Time from the request reaching Fastify to the response being sent, by pool, route template and method.',
  labelNames: ['pool', 'route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/** The label of a method: the known ones as they are, anything else `OTHER`. */
export function methodLabel(method: string): string {
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : 'OTHER';
}

/**
 * The label of a route: the template Fastify matched (`/3.0/projects/:projectId/…`,
 * or `*` for the CORS preflight route), or `unmatched` when none did.
 */
export function routeLabel(template: string | undefined): string {
  return template || UNMATCHED_ROUTE;
}

/** One answered request, as the onResponse hook sees it. */
export function recordHttpRequest(
  pool: string,
  template: string | undefined,
  method: string,
  status: number,
  seconds: number,
): void {
  const route = routeLabel(template);
  const m = methodLabel(method);
  httpRequests.inc({ pool, route, method: m, status: String(status) });
  httpRequestDuration.observe({ pool, route, method: m }, seconds);
}

/**
 * prom-client's process metrics (CPU, memory, event-loop lag, GC, handles),
 * registered once per process whoever asks first: calling collectDefaultMetrics
 * twice would throw on the duplicate names.
 */
export function ensureProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total')) return;
  collectDefaultMetrics();
}
