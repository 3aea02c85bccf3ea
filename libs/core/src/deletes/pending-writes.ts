import { WritePath } from '@app/storage';

/** Ids a delete may remove now, and ids it must hold back. */
export interface PendingSplit {
  settled: string[];
  /** Events of a delivery whose counters are not applied yet. */
  held: string[];
  /** The marker each settled event carries, where the store keeps one (see BodyReplacement.marker). */
  markers: Map<string, string>;
}

/**
 * The pending-marker rule of deletes on stores without transactions
 * (MongoDB, Cassandra; docs/queue.md). An event inserted under a marker that
 * is still pending has not been counted yet, and if its delivery died, the
 * marker is settled later from the events still stored under it (by the
 * redelivery or the stale-marker sweep). A delete that removed such an event
 * and decremented its counts would take away counts that were never added,
 * and the settle, which no longer finds the event, would never add them: the
 * counters would stay too low for good. So a delete holds those events back
 * until their marker is settled and then deletes them like any other.
 *
 * Order matters: the markers the events carry are read first, the ledger
 * after. A marker is registered before any event is inserted under it and is
 * never pending again once applied, so a marker found carried and then not
 * pending has been applied. (Left open: the event deleted by another delete
 * and inserted again by a redelivery between this check and the delete; that
 * needs two deletes of the same event racing a redelivery of it.)
 *
 * On a transactional store (SQLite) events and counters commit together:
 * nothing is ever pending.
 */
export class PendingWrites {
  constructor(private readonly writes: WritePath) {}

  async split(projectId: string, collection: string, ids: string[]): Promise<PendingSplit> {
    const markers = new Map<string, string>();
    if (this.writes.kind === 'transactional' || ids.length === 0)
      return { settled: ids, held: [], markers };
    const carried = await this.writes.writer.markersOf(projectId, ids);
    if (carried.size === 0) return { settled: ids, held: [], markers };
    const pending = await this.writes.ledger.markersPendingOn(projectId, collection);
    const held = new Set<string>();
    for (const [marker, of] of carried) {
      for (const id of of) {
        if (pending.has(marker)) held.add(id);
        else markers.set(id, marker);
      }
    }
    if (held.size === 0) return { settled: ids, held: [], markers };
    return { settled: ids.filter((id) => !held.has(id)), held: [...held], markers };
  }
}
