import { randomBytes } from 'node:crypto';
import { CollectionEvent, EventBatch, TallyError } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { EventPersister, PersistOutcome } from '../persist-events';
import { MongoMetadataStore } from '../mongo/mongo-metadata.store';
import { CassandraEventStore } from './cassandra-event.store';

export interface CassandraEventPersisterOptions {
  events: CassandraEventStore;
  /** Schema counters stay in MongoDB, with the same pending-marker protocol as the Mongo persister. */
  metadata: MongoMetadataStore;
  /** A foreign marker is taken over only after this long (default 60 s), as in MongoEventPersister. */
  takeoverAfterMs?: number;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES), as in MongoEventPersister. */
  maxProperties?: number;
}

/**
 * The write use case with events in Cassandra and counters in MongoDB, exact
 * under redelivery. Each delivery registers a fresh marker on the counter
 * documents, inserts with the marker as the by-id claim token, then applies
 * its deltas with the marker-conditional update. A redelivery that finds
 * duplicates reads their claim tokens: a token whose marker is still pending
 * belongs to a delivery that died before applying it, and its deltas are
 * recomputed from the redelivered events carrying that token (a redelivery
 * carries the same batch, so these are exactly the events it inserted).
 * Argument and limits: docs/cassandra.md.
 */
export class CassandraEventPersister extends EventPersister {
  private readonly store: CassandraEventStore;
  private readonly counters: MongoMetadataStore;
  private readonly takeoverAfterMs: number;
  private readonly processId = randomBytes(6).toString('hex');
  private sequence = 0;
  private readonly abandoned = new Set<string>();

  constructor(options: CassandraEventPersisterOptions) {
    super(options.events, options.metadata, { run: (work) => work() }, options.maxProperties);
    this.store = options.events;
    this.counters = options.metadata;
    this.takeoverAfterMs = options.takeoverAfterMs ?? 60_000;
  }

  override async persist(projectId: string, batch: CollectionEvent[]): Promise<PersistOutcome> {
    const marker = `${this.processId}.${++this.sequence}`;
    const collections = [...new Set(batch.map((e) => e.collection))];
    let unsettled = 0;
    let outcome;
    try {
      await this.counters.registerMarker(projectId, collections, marker);
      outcome = await this.store.insertClaimed(projectId, batch, marker);
      for (const collection of collections) {
        const mine = outcome.inserted.filter((e) => e.collection === collection);
        await this.counters.applyMarked(
          projectId,
          collection,
          marker,
          schemaDeltas(mine),
          this.maxProperties,
        );
      }
      const earlier = await this.store.claimTokens(projectId, outcome.duplicates);
      for (const [other, ids] of earlier) {
        if (other === marker) continue;
        const wanted = new Set(ids);
        if (
          !(await this.settle(
            projectId,
            other,
            batch.filter((e) => wanted.has(e.id)),
          ))
        )
          unsettled++;
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
    return { inserted: outcome.inserted.length, duplicates: outcome.duplicates.length };
  }

  override async persistAll(batches: EventBatch[]): Promise<PersistOutcome> {
    const total: PersistOutcome = { inserted: 0, duplicates: 0 };
    for (const batch of batches) {
      const outcome = await this.persist(batch.projectId, batch.events);
      total.inserted += outcome.inserted;
      total.duplicates += outcome.duplicates;
    }
    return total;
  }

  private async settle(
    projectId: string,
    marker: string,
    claimed: CollectionEvent[],
  ): Promise<boolean> {
    const pending = await this.counters.collectionsPending(projectId, marker);
    const now = Date.now();
    const mayTakeOver =
      this.abandoned.has(marker) ||
      pending.every((p) => now - p.at.getTime() >= this.takeoverAfterMs);
    if (!mayTakeOver) return false;
    for (const { collection } of pending) {
      await this.counters.applyMarked(
        projectId,
        collection,
        marker,
        schemaDeltas(claimed.filter((e) => e.collection === collection)),
        this.maxProperties,
      );
    }
    return true;
  }

  private abandon(marker: string): void {
    this.abandoned.add(marker);
    if (this.abandoned.size > 10_000)
      this.abandoned.delete(this.abandoned.values().next().value as string);
  }
}
