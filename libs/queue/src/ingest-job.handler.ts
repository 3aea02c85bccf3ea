import { IngestBatchPayload } from './ingest-job.types';

/** What handling one ingest job did. */
export interface IngestJobOutcome {
  inserted: number;
  duplicates: number;
  deadLettered: number;
  attempts: number;
}

/** What the consumer knows of a job beyond its payload. */
export interface IngestJobDelivery {
  /** When the producer enqueued the job (epoch ms): the worker's lag is measured from it. */
  enqueuedAt: number;
}

/**
 * What a queue consumer runs for each job: the write use case from core
 * (IngestJobProcessor). The consumer owns delivery (locks, redelivery,
 * shutdown); the handler owns storing. It must be idempotent, since a job may
 * be delivered more than once, and should stop early when `signal` aborts.
 */
export interface IngestJobHandler {
  process(
    payload: IngestBatchPayload,
    signal?: AbortSignal,
    delivery?: IngestJobDelivery,
  ): Promise<IngestJobOutcome>;
}
