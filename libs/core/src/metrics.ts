import { collectDefaultMetrics, Counter, Histogram, register } from 'prom-client';
import { TallyError } from '@app/events';
import { ANALYSIS_TYPES } from '@app/query-engine';

/**
 * The use cases' metrics, in prom-client's default registry (served by each
 * process's /metrics; the worker's by its own HTTP listener). prom-client is
 * neither Nest nor a driver, so core stays free of both. Label values come
 * from fixed sets only: reason and error codes are TallyError codes written in
 * this code base, analysis names are checked against the engine's list. No
 * project id, collection name or key ever becomes a label.
 */

const CODE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** A TallyError's code as a label (our own constants); anything else `internal`. */
export function errorCodeLabel(error: unknown): string {
  return error instanceof TallyError && CODE.test(error.errorCode) ? error.errorCode : 'internal';
}

/** Label of a query's analysis: one of the engine's analyses, else `unknown` (the URL segment is the client's). */
export function analysisLabel(name: string): string {
  const type = name.trim().toLowerCase();
  return (ANALYSIS_TYPES as readonly string[]).includes(type) ? type : 'unknown';
}

// --- ingest (ingest pool, standalone) ---

// Events acknowledged to clients (durable in the queue or the store). With
// the accepted counts of the worker this is the pipeline's balance sheet.
export const eventsAccepted = new Counter({
  name: 'tally_ingest_events_accepted_total',
  help: 'Events acknowledged to clients (durably enqueued), single and batch writes.',
});

// Events refused by validation, by Keen error code (InvalidPropertyNameError,
// EventTooLargeError…): a client sending malformed events shows up here.
// Write requests refused by the per-project limits (429), by the limit that
// refused them; their events are not counted as rejected (nothing was validated).
export const writesRateLimited = new Counter({
  name: 'tally_ingest_requests_rate_limited_total',
  help: 'Write requests refused with 429 by the per-project write limits, by limit (events, bytes).',
  labelNames: ['limit'] as const,
});

export const eventsRejected = new Counter({
  name: 'tally_ingest_events_rejected_total',
  help: 'Events refused by validation, by error code (a batch reports them per event; a single write answers 400).',
  labelNames: ['reason'] as const,
});

// Time from handing validated events to the queue until it holds them
// durably: the part of a write's latency the queue (Redis shards, or the
// SQLite commit inline) is responsible for. `refused`: no shard took them.
export const ackLatency = new Histogram({
  name: 'tally_ingest_ack_seconds',
  help: 'Time for the queue to hold a write durably (enqueue to acknowledgement), by outcome (acked, refused).',
  labelNames: ['outcome'] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

// --- worker (IngestJobProcessor) ---

export const jobsProcessed = new Counter({
  name: 'tally_worker_jobs_total',
  help: 'Ingest jobs the worker finished, by outcome (stored; aborted: left for redelivery at shutdown; failed).',
  labelNames: ['outcome'] as const,
});

// Inserted + duplicates = events delivered; duplicates are redeliveries and
// replays the store recognised by keen.id (nothing counted twice).
export const eventsStored = new Counter({
  name: 'tally_worker_events_total',
  help: 'Events the worker wrote, by result (inserted; duplicate: already stored, skipped).',
  labelNames: ['result'] as const,
});

export const storeRetries = new Counter({
  name: 'tally_worker_retries_total',
  help: 'Store writes the worker retried after a failure (store down, timing out or refusing).',
});

export const deadLettered = new Counter({
  name: 'tally_worker_dead_lettered_events_total',
  help: 'Events set aside in the dead-letter store because the store will never take them.',
});

// Events per store write of the worker: a job alone, or several jobs of one
// project combined (CoalescingPersister). Each write pays the protocol's fixed
// round trips, so mostly small writes under load mean CPU spent per write, not
// per event.
export const workerWriteEvents = new Histogram({
  name: 'tally_worker_write_events',
  help: 'Events per store write of the worker (one job, or several jobs of a project combined).',
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
});

export const storeWriteLatency = new Histogram({
  name: 'tally_worker_store_write_seconds',
  help: 'Duration of one store write (persist) of a job group, by outcome (ok, error).',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

// How far behind the store is: an acknowledged write becomes queryable this
// long after it was enqueued. Rising = backlog (worker slow, store slow or down).
export const workerLag = new Histogram({
  name: 'tally_worker_lag_seconds',
  help: 'Time from a job being enqueued to its events being stored (now minus the job enqueue time).',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
});

// --- queries (query pool, standalone) ---

export const queryDuration = new Histogram({
  name: 'tally_query_duration_seconds',
  help: 'Duration of queries, by analysis (extraction_stream: a streamed extraction, until its end); failed ones included.',
  labelNames: ['analysis'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
});

// Read amplification: events read from the store per query the TypeScript
// engine answered (compiled queries are read by the store's own engine).
export const queryEventsScanned = new Counter({
  name: 'tally_query_events_scanned_total',
  help: "Events read from the store by the TypeScript engine's scans, by analysis (compiled queries are not counted).",
  labelNames: ['analysis'] as const,
});

export const queryPaths = new Counter({
  name: 'tally_query_path_total',
  help: 'Queries answered, by analysis and by the engine that answered (compiled: the store; reference: the TypeScript engine)',
  labelNames: ['analysis', 'path'] as const,
});

export const queryErrors = new Counter({
  name: 'tally_query_errors_total',
  help: 'Queries that failed, by analysis and error code (InvalidParameterError, QueryTimeoutError, TooManyConcurrentQueriesError…).',
  labelNames: ['analysis', 'code'] as const,
});

// Emailed extractions (extraction with `email`), each counted once when its
// job ends: sent, failed (the query or every send attempt failed), too_large
// (over EXTRACTION_EMAIL_MAX_BYTES; a notice is mailed instead), interrupted
// (the process stopped). Send failures count every failed SMTP attempt,
// retried ones included, so a flaky mail server shows before jobs fail.
export const emailExtractions = new Counter({
  name: 'tally_query_email_extractions_total',
  help: 'Emailed extraction jobs that ended, by outcome (sent, failed, too_large, interrupted).',
  labelNames: ['outcome'] as const,
});

export const emailExtractionSendFailures = new Counter({
  name: 'tally_query_email_send_failures_total',
  help: 'Attempts to hand an emailed extraction to the SMTP server that failed (retried ones included).',
});

// --- deletes (query pool, standalone) ---

export const deleteJobsEnded = new Counter({
  name: 'tally_delete_jobs_total',
  help: 'Background delete job runs that ended on this process, by outcome (done, failed, stopped, interrupted, lost, error).',
  labelNames: ['outcome'] as const,
});

/**
 * prom-client's process metrics (CPU, memory, event-loop lag, GC), once per
 * process whoever asks first (a second collectDefaultMetrics would throw on
 * the duplicate names). The HTTP processes ask in libs/http; the worker, which
 * has no Nest app, through IngestJobProcessor.
 */
export function ensureProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total')) return;
  collectDefaultMetrics();
}

/** Seconds elapsed since `start` (a performance.now() reading). */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
