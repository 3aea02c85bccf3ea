import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CollectionEvent, EventBatch, TallyError } from '@app/events';
import { DEFAULT_MAX_PROPERTIES, schemaDeltas } from '@app/schema';
import {
  EventPersister,
  PersistOutcome,
  SchemaCappedListener,
  RejectedEvent,
  RejectedEventsError,
  CounterLedger,
  MarkedEventWriter,
  DatasetStore,
  PendingMarker,
  writeMarker,
} from '@app/storage';
import { changedRanges } from '../datasets/changed-ranges';

/** Pauses before another delivery's pending marker is read again (see settle). */
const SETTLE_RECHECK_MS = [20, 80, 200];

export interface MarkedEventPersisterOptions {
  writer: MarkedEventWriter;
  ledger: CounterLedger;
  /**
   * A marker left pending by another process is taken over only after this long
   * (default 60 s): by then that delivery has died or lost its job lock, so it
   * is no longer inserting events under the marker. Markers abandoned by this
   * process are taken over at once.
   */
  takeoverAfterMs?: number;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES), decided atomically with each counter update. */
  maxProperties?: number;
  /** The dataset change log the stored events' time ranges are appended to. */
  datasets?: Pick<DatasetStore, 'recordChanges'>;
}

/**
 * The write use case on stores without multi-document transactions (MongoDB,
 * Cassandra with counters in MongoDB), exact under redelivery. Each delivery
 * attempt writes under a fresh marker:
 *   1. register the marker as pending on each collection's counters;
 *   2. insert the events, each new one carrying the marker (an insert whose
 *      outcome is unknown, e.g. a timeout, fails the attempt);
 *   3. per collection, ONE atomic update adds the deltas of the events it
 *      inserted and removes the marker, applying only while it is pending;
 *   4. tell the writer the marker is applied (MongoDB keeps it on the events,
 *      Cassandra forgets the ids it recorded for it).
 * A later delivery that finds duplicates carrying another marker settles it:
 * if that marker is still pending (and its delivery is known dead), it
 * recomputes the deltas from the events carrying it and applies them with the
 * same conditional update. Details and the argument: docs/queue.md.
 */
export class MarkedEventPersister implements EventPersister {
  private readonly writer: MarkedEventWriter;
  private readonly ledger: CounterLedger;
  private readonly takeoverAfterMs: number;
  private readonly maxProperties: number;
  private readonly datasets?: Pick<DatasetStore, 'recordChanges'>;
  private readonly processId = randomBytes(6).toString('hex');
  private sequence = 0;
  /** Markers of this process's failed attempts: certainly not running any more. */
  private readonly abandoned = new Set<string>();

  constructor(options: MarkedEventPersisterOptions) {
    this.writer = options.writer;
    this.ledger = options.ledger;
    this.takeoverAfterMs = options.takeoverAfterMs ?? 60_000;
    this.maxProperties = options.maxProperties ?? DEFAULT_MAX_PROPERTIES;
    this.datasets = options.datasets;
  }

  /**
   * Accepted for the EventPersister interface; never called here. The capped
   * flag is set inside the ledger's atomic update and reaches other processes
   * through the metadata store (CappedCollectionsCache reloads it).
   */
  onSchemaCapped(_listener: SchemaCappedListener): void {}

  async persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    const [outcome] = await this.persistEach(projectId, [batch]);
    if (outcome instanceof RejectedEventsError) throw outcome;
    return outcome;
  }

  /**
   * Several jobs' batches of one project through the protocol once: one
   * marker, one insert, one counter update per collection (the worker's
   * cross-job batching, CoalescingPersister). Each batch's outcome counts its
   * own events; an id that several batches hold is inserted by the first of
   * them and a duplicate for the others, so the outcomes add up to what was
   * stored; a batch with events the store refused gets a RejectedEventsError
   * of its own (its other events are stored and counted). A thrown error is
   * the whole call's: every batch was written or none is known to be, and a
   * retry of any of them is a redelivery.
   */
  async persistEach(
    projectId: string,
    batches: CollectionEvent[][],
  ): Promise<(PersistOutcome | RejectedEventsError)[]> {
    const batch = batches.length === 1 ? batches[0] : batches.flat();
    const marker = writeMarker(Date.now(), this.processId, ++this.sequence);
    const collections = [...new Set(batch.map((e) => e.collection))];
    let unsettled = 0;
    let outcome;
    try {
      await this.ledger.registerMarker(projectId, collections, marker);
      outcome = await this.writer.insertMarked(projectId, batch, marker);
      // Every event of the batch, duplicates too: an earlier delivery that
      // died after its insert may not have recorded them. Before the job is
      // acknowledged, so a crash here is repaired by the redelivery.
      await this.datasets?.recordChanges(projectId, changedRanges(batch));
      for (const collection of collections) {
        const mine = outcome.inserted.filter((e) => e.collection === collection);
        await this.ledger.applyMarked(
          projectId,
          collection,
          marker,
          schemaDeltas(mine),
          this.maxProperties,
        );
      }
      // Exactly the events this delivery inserted carry its marker.
      await this.writer.clearMarker(
        projectId,
        marker,
        outcome.inserted.map((e) => e.id),
      );
      const earlier = await this.writer.markersOf(projectId, outcome.duplicates);
      for (const [other, ids] of earlier) {
        if (other === marker) continue;
        const wanted = new Set(ids);
        const carried = batch.filter((e) => wanted.has(e.id));
        if (!(await this.settle(projectId, other, carried))) unsettled++;
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
    const fresh = new Set(outcome.inserted.map((e) => e.id));
    const stored = new Set([...fresh, ...outcome.duplicates]);
    const refused = new Map(outcome.rejected.map((r) => [r.id, r]));
    return batches.map((own) => {
      const each = { inserted: 0, duplicates: 0 };
      const rejected: RejectedEvent[] = [];
      for (const id of new Set(own.map((e) => e.id))) {
        if (fresh.delete(id)) each.inserted++;
        else if (stored.has(id)) each.duplicates++;
        else if (refused.has(id)) rejected.push(refused.get(id)!);
      }
      return rejected.length > 0 ? new RejectedEventsError(rejected, each) : each;
    });
  }

  /**
   * Each batch through the whole protocol, under its own marker (the inline
   * queue's group commit). Rejected events of every batch are reported
   * together after the others are stored and counted; any other error stops
   * at its batch (the retry finds the earlier ones as duplicates).
   */
  async persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    const total: PersistOutcome = { inserted: 0, duplicates: 0 };
    const rejected: RejectedEvent[] = [];
    for (const batch of batches) {
      let outcome: PersistOutcome;
      try {
        outcome = await this.persist(batch.projectId, batch.events);
      } catch (error) {
        if (!(error instanceof RejectedEventsError)) throw error;
        rejected.push(...error.rejected);
        outcome = error.persisted;
      }
      total.inserted += outcome.inserted;
      total.duplicates += outcome.duplicates;
    }
    if (rejected.length > 0) throw new RejectedEventsError(rejected, total);
    return total;
  }

  /**
   * Settles another delivery's marker. Returns false when that delivery may
   * still be running (registered recently by another process): retry later.
   */
  private async settle(
    projectId: string,
    marker: string,
    carried: CollectionEvent[],
  ): Promise<boolean> {
    const mayTakeOver = (of: PendingMarker[]) => {
      const now = Date.now();
      return (
        this.abandoned.has(marker) || of.every((p) => now - p.at.getTime() >= this.takeoverAfterMs)
      );
    };
    let pending = await this.ledger.collectionsPending(projectId, marker);
    // Usually a live write of the same ids running beside this one (two combined
    // writes of a project in flight, jobs sharing a client's retried ids): it
    // applies its counters within milliseconds of its insert, so look again
    // before failing this whole delivery for a retry.
    for (const delayMs of SETTLE_RECHECK_MS) {
      if (mayTakeOver(pending)) break;
      await sleep(delayMs);
      pending = await this.ledger.collectionsPending(projectId, marker);
    }
    if (!mayTakeOver(pending)) return false;
    if (pending.length === 0) {
      // Applied already; only its events may still carry it.
      await this.writer.clearMarker(projectId, marker);
      return true;
    }
    const events = await this.writer.findByMarker(projectId, marker, carried);
    for (const { collection } of pending) {
      const deltas = schemaDeltas(events.filter((e) => e.collection === collection));
      await this.ledger.applyMarked(projectId, collection, marker, deltas, this.maxProperties);
    }
    await this.writer.clearMarker(
      projectId,
      marker,
      events.map((e) => e.id),
    );
    return true;
  }

  private abandon(marker: string): void {
    this.abandoned.add(marker);
    if (this.abandoned.size > 10_000)
      this.abandoned.delete(this.abandoned.values().next().value as string);
  }
}
