import { SchemaDelta } from '@app/schema';

export interface PendingMarker {
  collection: string;
  /** When the marker was registered on this collection: a delivery's age. */
  at: Date;
}

/** One marker pending on one collection: an entry of the stale-marker sweep's work list. */
export interface PendingEntry {
  projectId: string;
  collection: string;
  marker: string;
  /** When the marker was registered on this collection. */
  at: Date;
}

/**
 * The counter side of the exact-counter protocol (docs/queue.md): schema
 * counters per (project, collection), each with the markers of deliveries
 * whose deltas are not applied yet. Implemented where the counters live
 * (MongoDB for both the mongo and cassandra event stores).
 */
export interface CounterLedger {
  /** Registers `marker` as pending on each collection, before any event is inserted under it. */
  registerMarker(projectId: string, collections: string[], marker: string): Promise<void>;
  /**
   * Adds the deltas and removes the marker from the collection in ONE atomic
   * step that applies only while the marker is pending there: a marker's
   * deltas are added at most once per collection however often this is
   * called. The property cap is decided inside the same step (paths admitted
   * while fewer than `maxProperties` are). Returns whether it applied.
   */
  applyMarked(
    projectId: string,
    collection: string,
    marker: string,
    deltas: SchemaDelta[],
    maxProperties: number,
  ): Promise<boolean>;
  /** The collections on which `marker` is still pending, with its registration time. */
  collectionsPending(projectId: string, marker: string): Promise<PendingMarker[]>;
  /**
   * The markers pending on one collection right now. A delete holds the
   * events of these deliveries (their counters are not applied yet), so it
   * never decrements counts that were never added.
   */
  markersPendingOn(projectId: string, collection: string): Promise<Set<string>>;
  /**
   * Markers registered before `before`, over every project, oldest first, at
   * most `limit` entries: the stale-marker sweep's work list.
   */
  listPending(before: Date, limit: number): Promise<PendingEntry[]>;
  /** How many (marker, collection) entries are pending in all (the pending-markers gauge). */
  countPending(): Promise<number>;
}
