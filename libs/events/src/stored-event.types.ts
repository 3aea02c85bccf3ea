import { JsonObject } from './json.types';

/**
 * An event as every store keeps it and every reader sees it.
 * `event` is the full body including the reserved `keen` object
 * (`keen.id`, `keen.timestamp`, `keen.created_at` as ISO-8601 UTC strings);
 * `id` and `timestamp` (epoch milliseconds of `keen.timestamp`) are copies kept
 * beside it so stores can index them and the query engine need not reparse.
 */
export interface StoredEvent {
  id: string;
  timestamp: number;
  event: JsonObject;
  /**
   * The body as the store holds it, when that is JSON text equal to
   * `JSON.stringify(event)` (SQLite's `body` column): an export can send it
   * as it is, without parsing and serialising it again. Describes the body as
   * read; code that changes `event` must not use it.
   */
  text?: string;
}

/** A batch of validated events bound for one project, as queued and stored. */
export interface EventBatch {
  /** Unique per batch; the queue uses it as the job id so a retried enqueue is one job. */
  batchId: string;
  projectId: string;
  events: CollectionEvent[];
}

export interface CollectionEvent extends StoredEvent {
  collection: string;
}
