import { CollectionEvent } from '@app/events';
import { MarkedEventWriter, MarkedInsertOutcome } from '../ports/marked-event-writer.port';
import { CassandraEventStore } from './cassandra-event.store';

/**
 * MarkedEventWriter on Cassandra: the marker is the by-id row's claim token,
 * written by the insert's lightweight transaction and never removed (it also
 * identifies the claim's owner on a retried LWT). Settled markers are told
 * apart by the ledger: they are no longer pending there.
 */
export class CassandraMarkedEventWriter implements MarkedEventWriter {
  constructor(private readonly events: CassandraEventStore) {}

  async insertMarked(
    projectId: string,
    events: CollectionEvent[],
    marker: string,
  ): Promise<MarkedInsertOutcome> {
    const { inserted, duplicates } = await this.events.insertClaimed(projectId, events, marker);
    // Every row is a text body under a primary key: no content the server refuses.
    return { inserted, duplicates, rejected: [] };
  }

  /**
   * Read back through the by-id table, where an insert's claim is the last
   * write (LOCAL_QUORUM read after a LOCAL_SERIAL claim: read-your-writes).
   */
  async missingIds(projectId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const held = new Set([...(await this.events.claimTokens(projectId, ids)).values()].flat());
    return ids.filter((id) => !held.has(id));
  }

  markersOf(projectId: string, ids: string[]): Promise<Map<string, string[]>> {
    return this.events.claimTokens(projectId, ids);
  }

  /** Claim tokens are not indexed: the redelivered events carrying the marker are its events. */
  async findByMarker(
    _projectId: string,
    _marker: string,
    carried: CollectionEvent[],
  ): Promise<CollectionEvent[]> {
    return carried;
  }

  /** The claim token stays: it is part of the by-id row. */
  async clearMarker(_projectId: string, _marker: string): Promise<void> {}
}
