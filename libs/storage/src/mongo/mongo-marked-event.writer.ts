import { CollectionEvent } from '@app/events';
import { MarkedEventWriter, MarkedInsertOutcome } from '../ports/marked-event-writer.port';
import { MongoEventStore } from './mongo-event.store';

/**
 * MarkedEventWriter on MongoDB: the marker is the event document's `m` field
 * (partial index `pending_marker`), unset once its counters are applied.
 */
export class MongoMarkedEventWriter implements MarkedEventWriter {
  constructor(private readonly events: MongoEventStore) {}

  insertMarked(
    projectId: string,
    events: CollectionEvent[],
    marker: string,
  ): Promise<MarkedInsertOutcome> {
    return this.events.insertMarked(projectId, events, marker);
  }

  markersOf(projectId: string, ids: string[]): Promise<Map<string, string[]>> {
    return this.events.markersOf(projectId, ids);
  }

  /** Every event carrying the marker, found through the `pending_marker` index. */
  findByMarker(
    projectId: string,
    marker: string,
    _carried: CollectionEvent[],
  ): Promise<CollectionEvent[]> {
    return this.events.findByMarker(projectId, marker);
  }

  clearMarker(projectId: string, marker: string, ids?: string[]): Promise<void> {
    return this.events.clearMarker(projectId, marker, ids);
  }
}
