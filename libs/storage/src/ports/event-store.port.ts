import { CollectionEvent, JsonObject } from '@app/events';
import { EventSource } from '@app/query-engine';

export const EVENT_STORE = Symbol('EVENT_STORE');

export interface InsertOutcome {
  /** Events written by this call; ids already stored are skipped (idempotent redelivery). */
  inserted: CollectionEvent[];
  /** Ids that were already present and therefore not written again. */
  duplicates: string[];
}

/** A new body for one stored event (see EventStore.replaceBodies). */
export interface BodyReplacement {
  id: string;
  /** The body as it was read: the replacement applies only while the store still holds exactly this. */
  expected: JsonObject;
  body: JsonObject;
  /**
   * The write marker the event carried when the delete found its delivery
   * settled (PendingWrites), if any. A store that keeps markers on its events
   * (MongoDB) replaces the body only while it still carries exactly this one:
   * the same event deleted and inserted again by a later delivery carries
   * another, not yet counted.
   */
  marker?: string;
}

/**
 * Every event store (sqlite, mongo, cassandra) implements this port and passes
 * the shared contract suite. Every call is scoped by project: there is no way
 * to read another project's events by forgetting a filter.
 */
export interface EventStore extends EventSource {
  /** Idempotent by keen.id: writing an id twice stores it once. */
  insert(projectId: string, events: CollectionEvent[]): Promise<InsertOutcome>;
  /** Deletes by keen.id (point operations); returns the deleted events. */
  deleteByIds(projectId: string, collection: string, ids: string[]): Promise<CollectionEvent[]>;
  /**
   * Rewrites event bodies in place (keen.id, timestamp and collection never
   * change), each as a compare-and-set against `expected`, and returns the ids
   * it replaced. An event deleted or rewritten meanwhile, or one the store
   * cannot change safely yet (its write still settling), is left as it is and
   * not returned, so callers adjust counters only for what actually changed.
   */
  replaceBodies(
    projectId: string,
    collection: string,
    replacements: BodyReplacement[],
  ): Promise<string[]>;
  /** Removes every event of a collection; returns how many were removed. */
  dropCollection(projectId: string, collection: string): Promise<number>;
  countCollection(projectId: string, collection: string): Promise<number>;
  /** Readiness: one cheap read answered within the timeout (GET /readyz of the pools that read events). */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
