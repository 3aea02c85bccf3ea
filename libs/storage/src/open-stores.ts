import { TallyConfig } from '@app/config';
import { EventStore } from './ports/event-store.port';
import { MetadataStore, UnitOfWork } from './ports/metadata-store.port';
import { WritePath } from './ports/write-path.port';
import { DeadLetterStore } from './ports/dead-letter-store.port';
import { DeleteJobStore } from './ports/delete-job.store.port';
import { DatasetStore } from './ports/dataset-store.port';
import { SavedQueryStore } from './ports/saved-query-store.port';
import { CompiledQueries } from './ports/compiled-queries.port';

/** What a process that never touches events opens (the ingest pool): projects, keys, settings. */
export interface MetadataStores {
  metadata: MetadataStore;
  /** Where events that can never be stored go instead of blocking their batch. */
  deadLetters: DeadLetterStore;
  /** Background deletes, beside the metadata (SQLite: in the same file as the events). */
  deleteJobs: DeleteJobStore;
  /** Saved and cached queries with their refresh leases (SQLite: in the same file as the events). */
  savedQueries: SavedQueryStore;
  /** Cached datasets: definitions, the change log, dirty buckets and computed values. */
  datasets: DatasetStore;
  /** The keen.id secret: from config, or generated once and kept with the data. */
  idSecret: string;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES) the persister and recounts apply. */
  maxProperties: number;
  close(): Promise<void>;
}

/** Everything a process that reads or writes events opens. */
export interface Stores extends MetadataStores {
  events: EventStore;
  unitOfWork: UnitOfWork;
  /** How writes keep counters exact; the persister is chosen from it (persisterFor). */
  writes: WritePath;
  /**
   * Queries the event store answers itself (MongoDB's aggregation pipelines),
   * if it has such a path; the standalone server's columnar copy is opened
   * beside the stores instead (apps/standalone).
   */
  compiled?: CompiledQueries;
}

/**
 * Opens the configured drivers; the only place that knows which exist. Each
 * driver's module is loaded here, on demand, so a process loads only the
 * driver it runs (and `@app/storage` itself loads none).
 */
export async function openStores(config: TallyConfig): Promise<Stores> {
  switch (config.storage.kind) {
    case 'sqlite':
      return (await import('./sqlite/open-sqlite')).openSqliteStores(config);
    case 'mongo':
      return (await import('./mongo/open-mongo')).openMongoStores(config);
    case 'cassandra':
      return (await import('./cassandra/open-cassandra')).openCassandraStores(config);
  }
}

/**
 * Opens only the metadata side. With STORE=cassandra this never contacts
 * Cassandra, so an ingest process starts and acknowledges events while
 * Cassandra is down (the worker stores them once it is back).
 */
export async function openMetadataStores(config: TallyConfig): Promise<MetadataStores> {
  switch (config.storage.kind) {
    case 'sqlite':
      // One file holds both sides; opening it is opening everything.
      return (await import('./sqlite/open-sqlite')).openSqliteStores(config);
    case 'mongo':
    case 'cassandra':
      return (await import('./mongo/open-mongo')).openMongoMetadataStores(config);
  }
}

/** Every process of a split deployment must derive the same ids for a replay. */
export function requireIdSecret(config: TallyConfig): string {
  if (!config.idSecret) {
    throw new Error(
      `ID_SECRET must be set when STORE=${config.storage.kind} (the same value on every process)`,
    );
  }
  return config.idSecret;
}
