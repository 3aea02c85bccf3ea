import { DEFAULT_MAX_PROPERTIES, schemaDeltas } from '@app/schema';
import { CounterLedger, MarkedEventWriter, PendingEntry } from '@app/storage';

export interface MarkerSweeperOptions {
  writer: MarkedEventWriter;
  ledger: CounterLedger;
  /**
   * Only markers registered longer ago than this are swept (default 10 min).
   * It must exceed the persister's takeover bound (60 s), itself far above the
   * job lock and socket timeouts: a delivery that old has died or lost its job.
   */
  olderThanMs?: number;
  /** (marker, collection) entries examined per sweep (default 1000); the next sweep takes the rest. */
  batchLimit?: number;
  /** The schema property cap, decided in the same update as for a delivery. */
  maxProperties?: number;
  clock?: () => number;
}

export interface SweepOutcome {
  /** Markers whose counters this sweep applied from their stored events. */
  settled: number;
  /** Markers with no stored event: removed, nothing counted. */
  dropped: number;
  /** Stale (marker, collection) entries this sweep found. */
  examined: number;
}

/**
 * Settles markers that no delivery will settle: the marker of an attempt that
 * failed before its counters were applied (a store error, a lost write, a
 * killed worker) stays pending when nothing redelivers its events as
 * duplicates, e.g. when the attempt died before inserting anything, or its
 * redelivery was served by events deleted meanwhile. Pending markers also hold
 * back deletes of their events (PendingWrites), so a stale one must not live
 * forever.
 *
 * Each stale marker is settled exactly as a redelivery settles it: the deltas
 * of every event stored under it (findByMarker), applied per collection with
 * the ledger's conditional update, which applies only while the marker is
 * pending. So a marker is counted once however many sweepers, redeliveries or
 * repeated sweeps reach it; a marker with nothing stored is just removed.
 */
export class MarkerSweeper {
  private readonly olderThanMs: number;
  private readonly batchLimit: number;
  private readonly maxProperties: number;
  private readonly clock: () => number;

  constructor(private readonly options: MarkerSweeperOptions) {
    this.olderThanMs = options.olderThanMs ?? 600_000;
    this.batchLimit = options.batchLimit ?? 1000;
    this.maxProperties = options.maxProperties ?? DEFAULT_MAX_PROPERTIES;
    this.clock = options.clock ?? Date.now;
  }

  /** The stale markers, oldest first (the CLI's `markers list`). */
  stale(limit = this.batchLimit): Promise<PendingEntry[]> {
    return this.options.ledger.listPending(new Date(this.clock() - this.olderThanMs), limit);
  }

  /**
   * Sweeps until no stale marker is left (the CLI's `markers sweep`): one
   * sweep takes at most `batchLimit` entries, and a store outage under a busy
   * worker can leave thousands, since every failed attempt registered its own
   * marker. Stops early when a full pass settles nothing, so entries that
   * cannot be settled now do not hold it in a loop.
   */
  async sweepAll(): Promise<SweepOutcome> {
    const total: SweepOutcome = { settled: 0, dropped: 0, examined: 0 };
    for (;;) {
      const outcome = await this.sweep();
      total.settled += outcome.settled;
      total.dropped += outcome.dropped;
      total.examined += outcome.examined;
      if (outcome.examined < this.batchLimit || outcome.settled + outcome.dropped === 0) return total;
    }
  }

  async sweep(): Promise<SweepOutcome> {
    const { writer, ledger } = this.options;
    const entries = await this.stale();
    // One settle per (project, marker), over the collections it is stale on.
    const byMarker = new Map<
      string,
      { projectId: string; marker: string; collections: string[] }
    >();
    for (const e of entries) {
      const key = JSON.stringify([e.projectId, e.marker]);
      const found = byMarker.get(key);
      if (found) found.collections.push(e.collection);
      else
        byMarker.set(key, {
          projectId: e.projectId,
          marker: e.marker,
          collections: [e.collection],
        });
    }
    const outcome: SweepOutcome = { settled: 0, dropped: 0, examined: entries.length };
    for (const { projectId, marker, collections } of byMarker.values()) {
      const events = await writer.findByMarker(projectId, marker, []);
      let applied = false;
      for (const collection of collections) {
        const deltas = schemaDeltas(events.filter((e) => e.collection === collection));
        if (await ledger.applyMarked(projectId, collection, marker, deltas, this.maxProperties))
          applied = true;
      }
      // Cleared whether or not this sweep applied it: a marker is cleared only
      // once it is not pending, and clearing twice is harmless.
      if ((await ledger.collectionsPending(projectId, marker)).length === 0)
        await writer.clearMarker(
          projectId,
          marker,
          events.map((e) => e.id),
        );
      if (!applied) continue; // another sweeper or a redelivery settled it first
      if (events.length > 0) outcome.settled++;
      else outcome.dropped++;
    }
    return outcome;
  }
}
