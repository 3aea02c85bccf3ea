import { CollectionEvent } from '@app/events';
import { RejectedEvent } from './rejected-events.error';

export interface MarkedInsertOutcome {
  /** Events this call wrote; each carries the call's marker. */
  inserted: CollectionEvent[];
  /** Ids already stored: not written again, their marker (if any) left as it was. */
  duplicates: string[];
  /** Events whose content the store refuses (never storable): dead-letter material. */
  rejected: RejectedEvent[];
}

/**
 * The event side of the exact-counter protocol (docs/queue.md), implemented by
 * each event store's adapter. A marker names one delivery attempt; the store
 * records it with every event that attempt inserted, so a later delivery that
 * finds those events as duplicates can tell which attempt inserted them.
 */
export interface MarkedEventWriter {
  /**
   * Idempotent by keen.id. Every event reported inserted carries `marker`;
   * a duplicate never gets it (it keeps the marker of the attempt that
   * inserted it), which is what makes a marker's event set exact.
   */
  insertMarked(
    projectId: string,
    events: CollectionEvent[],
    marker: string,
  ): Promise<MarkedInsertOutcome>;
  /** The markers these stored events still carry: marker -> its ids among them. */
  markersOf(projectId: string, ids: string[]): Promise<Map<string, string[]>>;
  /**
   * EVERY event inserted under `marker`, not only `carried` (the events of
   * the current delivery found carrying it): a redelivery may carry a subset
   * of the dead delivery's batch (the worker retries a failing job's events
   * one by one), and a marker is settled once, so counting only the subset
   * would lose the rest's counters for good. `carried` may serve as a source
   * of bodies.
   */
  findByMarker(
    projectId: string,
    marker: string,
    carried: CollectionEvent[],
  ): Promise<CollectionEvent[]>;
  /**
   * Called once the marker's counters are applied. A store may drop the
   * marker from its events or keep it (MongoDB and Cassandra both keep it:
   * dropping it is a second write of every event); either is correct, because
   * the ledger, not the events, says whether a marker is still pending.
   *
   * `ids`, when given, are all the events stored under the marker: the
   * delivery's own inserted events, or what findByMarker() returned. A store
   * may then clear them by id instead of looking the marker up.
   */
  clearMarker(projectId: string, marker: string, ids?: string[]): Promise<void>;
}
