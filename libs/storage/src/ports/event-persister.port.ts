import { CollectionEvent, EventBatch } from '@app/events';

/** Injection token of the process's persister. */
export const EVENT_PERSISTER = Symbol('EVENT_PERSISTER');

export interface PersistOutcome {
  inserted: number;
  duplicates: number;
}

/** Told, after a commit, of each collection written to that is over its property cap. */
export type SchemaCappedListener = (projectId: string, collection: string) => void;

/**
 * The one write use case, shared by the standalone inline queue and the worker:
 * store events idempotently by keen.id and add schema counters for exactly the
 * events that were new, so a redelivered batch adds nothing twice. Two
 * implementations, chosen by persisterFor (libs/core/src/persist): UnitOfWorkEventPersister (SQLite, one
 * transaction) and MarkedEventPersister (MongoDB / Cassandra, the marker
 * protocol of docs/queue.md).
 */
export interface EventPersister {
  /** In-process notice of capped writes: lets standalone flag the very write that crosses the cap. */
  onSchemaCapped(listener: SchemaCappedListener): void;
  persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome>;
  /** Several queued batches (the inline queue's group commit). */
  persistAll(batches: EventBatch[]): Promise<PersistOutcome>;
}
