import { SchemaDelta } from '@app/schema';
import { CounterLedger, PendingEntry, PendingMarker } from '../ports/counter-ledger.port';
import { MongoMetadataStore } from './mongo-metadata.store';

/**
 * CounterLedger on MongoDB: one `schema_counters` document per (project,
 * collection) with its `pending` markers; a marker's deltas and its removal
 * are one single-document conditional update (MongoSchemaCounters.applyMarked).
 * Used by both the mongo and the cassandra event stores.
 */
export class MongoCounterLedger implements CounterLedger {
  constructor(private readonly metadata: MongoMetadataStore) {}

  registerMarker(projectId: string, collections: string[], marker: string): Promise<void> {
    return this.metadata.registerMarker(projectId, collections, marker);
  }

  applyMarked(
    projectId: string,
    collection: string,
    marker: string,
    deltas: SchemaDelta[],
    maxProperties: number,
  ): Promise<boolean> {
    return this.metadata.applyMarked(projectId, collection, marker, deltas, maxProperties);
  }

  collectionsPending(projectId: string, marker: string): Promise<PendingMarker[]> {
    return this.metadata.collectionsPending(projectId, marker);
  }

  markersPendingOn(projectId: string, collection: string): Promise<Set<string>> {
    return this.metadata.markersPendingOn(projectId, collection);
  }

  listPending(before: Date, limit: number): Promise<PendingEntry[]> {
    return this.metadata.listPending(before, limit);
  }

  countPending(): Promise<number> {
    return this.metadata.countPending();
  }
}
