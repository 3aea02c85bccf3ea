import { SchemaDelta } from '@app/schema';

export interface PendingMarker {
  collection: string;
  /** When the marker was registered on this collection: a delivery's age. */
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
}
