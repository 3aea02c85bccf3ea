import { CollectionEvent } from '@app/events';
import { EventSource } from '@app/query';

export const EVENT_STORE = Symbol('EVENT_STORE');

export interface InsertOutcome {
  /** Events written by this call; ids already stored are skipped (idempotent redelivery). */
  inserted: CollectionEvent[];
  /** Ids that were already present and therefore not written again. */
  duplicates: string[];
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
  /** Removes every event of a collection; returns how many were removed. */
  dropCollection(projectId: string, collection: string): Promise<number>;
  countCollection(projectId: string, collection: string): Promise<number>;
  close(): Promise<void>;
}
