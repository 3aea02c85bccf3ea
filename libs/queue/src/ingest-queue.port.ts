import { EventBatch } from '@app/events';

export const INGEST_QUEUE = Symbol('INGEST_QUEUE');

/**
 * The write path's only per-request dependency. `enqueue` resolves only once
 * the batch is durable (committed to disk inline, or acknowledged by a queue
 * shard); it rejects with a TallyError('unavailable') otherwise. Implementations
 * group-commit: concurrent calls share one transaction or job.
 */
export interface IngestQueue {
  enqueue(batch: EventBatch): Promise<void>;
  /** Stop accepting, flush what is pending, release connections. */
  close(): Promise<void>;
}
