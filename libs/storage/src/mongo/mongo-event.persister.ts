import { randomBytes } from 'node:crypto';
import { CollectionEvent, TallyError } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { EventPersister, PersistOutcome } from '../persist-events';
import { RejectedEventsError } from '../dead-letter/rejected-events.error';
import { MongoEventStore } from './mongo-event.store';
import { MongoMetadataStore } from './mongo-metadata.store';

export interface MongoEventPersisterOptions {
  events: MongoEventStore;
  metadata: MongoMetadataStore;
  /**
   * A marker left pending by another process is taken over only after this long
   * (default 60 s): by then that delivery has died or lost its job lock, so it
   * is no longer inserting events under the marker. Markers abandoned by this
   * process are taken over at once.
   */
  takeoverAfterMs?: number;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES), decided atomically with each counter update. */
  maxProperties?: number;
}

/**
 * The write use case on MongoDB, exact under redelivery without transactions.
 *
 * The base EventPersister adds counters only for events its insert found new,
 * so a worker killed between the insert and the counter update would leave
 * those events uncounted forever (the redelivery finds them all duplicates).
 * Here each delivery (attempt) writes under a fresh marker:
 *   1. register the marker as pending on each collection's counter document;
 *   2. insert the events, each carrying the marker (`m`);
 *   3. per collection, ONE atomic update adds the deltas of the events it
 *      inserted and pulls the marker, matching only while the marker is pending;
 *   4. unset `m` on its events.
 * A later delivery that finds duplicates still carrying another marker settles
 * it: if that marker is still pending (and its delivery is known dead), it
 * recomputes the deltas from the events carrying it and applies them with the
 * same conditional update; if it was applied already, it only unsets `m`.
 * Details and the argument: docs/queue.md.
 */
export class MongoEventPersister extends EventPersister {
  private readonly eventStore: MongoEventStore;
  private readonly metadataStore: MongoMetadataStore;
  private readonly takeoverAfterMs: number;
  private readonly processId = randomBytes(6).toString('hex');
  private sequence = 0;
  /** Markers of this process's failed attempts: certainly not running any more. */
  private readonly abandoned = new Set<string>();

  constructor(options: MongoEventPersisterOptions) {
    super(options.events, options.metadata, { run: (work) => work() }, options.maxProperties);
    this.eventStore = options.events;
    this.metadataStore = options.metadata;
    this.takeoverAfterMs = options.takeoverAfterMs ?? 60_000;
  }

  override async persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    const marker = `${this.processId}.${++this.sequence}`;
    const collections = [...new Set(batch.map((e) => e.collection))];
    let unsettled = 0;
    let outcome;
    try {
      await this.metadataStore.registerMarker(projectId, collections, marker);
      outcome = await this.eventStore.insertMarked(projectId, batch, marker);
      await this.verifyStored(projectId, outcome.inserted);
      for (const collection of collections) {
        const mine = outcome.inserted.filter((e) => e.collection === collection);
        await this.metadataStore.applyMarked(
          projectId,
          collection,
          marker,
          schemaDeltas(mine),
          this.maxProperties,
        );
      }
      await this.eventStore.clearMarker(projectId, marker);
      const earlier = await this.eventStore.markersOf(projectId, outcome.duplicates);
      for (const other of earlier.keys()) {
        if (other !== marker && !(await this.settle(projectId, other))) unsettled++;
      }
    } catch (error) {
      this.abandon(marker);
      throw error;
    }
    if (unsettled > 0) {
      throw new TallyError(
        'unavailable',
        'CountersPendingError',
        `${unsettled} earlier delivery(ies) of these events may still be running; their counters are settled on retry`,
      );
    }
    const result = { inserted: outcome.inserted.length, duplicates: outcome.duplicates.length };
    if (outcome.rejected.length > 0) throw new RejectedEventsError(outcome.rejected, result);
    return result;
  }

  /**
   * Reads back what the insert reported as written before anything is counted
   * or acknowledged. A store that acknowledges an insert it does not keep (the
   * MongoDB-wire test server did, under concurrent batches after client-side
   * timeouts; real MongoDB can too with w:1 across a failover) would otherwise
   * lose acknowledged events silently. Throwing here leaves this delivery's
   * marker pending: the retry inserts what is missing under a new marker and
   * settles this one from the events that do carry it, so counters stay exact.
   */
  private async verifyStored(projectId: string, inserted: CollectionEvent[]): Promise<void> {
    const missing = await this.eventStore.missingIds(
      projectId,
      inserted.map((e) => e.id),
    );
    if (missing.length > 0) {
      throw new TallyError(
        'unavailable',
        'StoreLostWriteError',
        `the store acknowledged ${inserted.length} inserted events but holds only ${inserted.length - missing.length} of them; the write is retried`,
      );
    }
  }

  /**
   * Settles another delivery's marker. Returns false when that delivery may
   * still be running (registered recently by another process): retry later.
   */
  private async settle(projectId: string, marker: string): Promise<boolean> {
    const pending = await this.metadataStore.collectionsPending(projectId, marker);
    const now = Date.now();
    const mayTakeOver =
      this.abandoned.has(marker) ||
      pending.every((p) => now - p.at.getTime() >= this.takeoverAfterMs);
    if (!mayTakeOver) return false;
    if (pending.length > 0) {
      const events = await this.eventStore.findByMarker(projectId, marker);
      for (const { collection } of pending) {
        const deltas = schemaDeltas(events.filter((e) => e.collection === collection));
        await this.metadataStore.applyMarked(
          projectId,
          collection,
          marker,
          deltas,
          this.maxProperties,
        );
      }
    }
    await this.eventStore.clearMarker(projectId, marker);
    return true;
  }

  private abandon(marker: string): void {
    this.abandoned.add(marker);
    if (this.abandoned.size > 10_000)
      this.abandoned.delete(this.abandoned.values().next().value as string);
  }
}
