import { CollectionEvent } from '@app/events';
import { MarkedEventWriter, MarkedInsertOutcome } from '../ports/marked-event-writer.port';
import { MongoEventStore } from './mongo-event.store';

/**
 * MarkedEventWriter on MongoDB: the marker is the event document's `m` field
 * (index `pending_marker`), kept once its counters are applied, as Cassandra
 * keeps its claim token. Unsetting it cost a second write of every event (on
 * the MongoDB test server, half of what the store can take); the ledger says
 * whether a marker is pending, and the compiled queries read it there
 * (mongo-guards.ts).
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

  /** Nothing to do: the events keep their marker. */
  clearMarker(_projectId: string, _marker: string, _ids?: string[]): Promise<void> {
    return Promise.resolve();
  }
}
