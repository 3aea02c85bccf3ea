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
  /**
   * Readiness: resolves when an enqueue could be acknowledged now (split: at
   * least one shard answers PING within `timeoutMs` and its breaker is not
   * open); rejects naming the problem otherwise, never later than `timeoutMs`.
   */
  ping(timeoutMs: number): Promise<void>;
  /** Stop accepting, flush what is pending, release connections. */
  close(): Promise<void>;
}
