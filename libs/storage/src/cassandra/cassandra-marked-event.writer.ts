import { CollectionEvent } from '@app/events';
import { MarkedEventWriter, MarkedInsertOutcome } from '../ports/marked-event-writer.port';
import { CassandraEventStore } from './cassandra-event.store';

/**
 * MarkedEventWriter on Cassandra: the marker is the by-id row's claim token,
 * written by the insert's lightweight transaction and never removed (it also
 * identifies the claim's owner on a retried LWT). Settled markers are told
 * apart by the ledger: they are no longer pending there. Claim tokens are not
 * indexed, so each delivery first records the ids it may claim under its
 * marker (`marker_events`); settling a dead marker reads them back.
 */
export class CassandraMarkedEventWriter implements MarkedEventWriter {
  constructor(private readonly events: CassandraEventStore) {}

  async insertMarked(
    projectId: string,
    events: CollectionEvent[],
    marker: string,
  ): Promise<MarkedInsertOutcome> {
    await this.events.recordMarker(
      projectId,
      marker,
      events.map((e) => e.id),
    );
    const { inserted, duplicates } = await this.events.insertClaimed(projectId, events, marker);
    // Every row is a text body under a primary key: no content the server refuses.
    return { inserted, duplicates, rejected: [] };
  }

  markersOf(projectId: string, ids: string[]): Promise<Map<string, string[]>> {
    return this.events.claimTokens(projectId, ids);
  }

  /**
   * Every event the marker claimed, from the ids its delivery recorded: a
   * redelivery may carry only some of them (the worker retries a failing
   * job's events one by one to find poison ones).
   */
  findByMarker(
    projectId: string,
    marker: string,
    carried: CollectionEvent[],
  ): Promise<CollectionEvent[]> {
    return this.events.claimedBy(projectId, marker, carried);
  }

  /** The claim token stays (it is part of the by-id row); the recorded ids go. */
  clearMarker(projectId: string, marker: string, _ids?: string[]): Promise<void> {
    return this.events.forgetMarker(projectId, marker);
  }
}
