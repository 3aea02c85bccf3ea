import { JsonObject, JsonValue } from '@app/events';

export const DATASET_STORE = Symbol('DATASET_STORE');

/** A cached dataset as defined by its owner (checked by core before it is stored). */
export interface DatasetDefinition {
  projectId: string;
  name: string;
  displayName: string;
  /** The query as given (analysis, collection, filters, timeframe = the window, interval, timezone…). */
  query: JsonObject;
  /** Properties whose values the results are read by. */
  indexBy: string[];
  /** The query's event_collection, kept apart: the write path looks datasets up by it. */
  collection: string;
  createdAt: string;
  updatedAt: string;
}

/** Events of a collection changed in [fromMs, toMs) (written, redelivered or deleted). */
export interface CollectionChange {
  collection: string;
  fromMs: number;
  toMs: number;
}

export interface StoredChange extends CollectionChange {
  id: string;
  projectId: string;
}

/** One bucket of a dataset to compute again; `seq` grows each time it is marked. */
export interface DirtyBucket {
  projectId: string;
  name: string;
  startMs: number;
  endMs: number;
  seq: number;
}

/** One bucket's value for one index value (`indexKey`: the JSON text of the index values). */
export interface BucketRow {
  indexKey: string;
  value: JsonValue;
}

/**
 * Cached datasets: definitions, the change log the write path fills, the
 * buckets waiting to be computed, and the computed values. SQLite keeps them
 * in the events file (the change log in the write's own transaction); split
 * deployments in MongoDB, beside the other metadata.
 *
 * How the parts fit (docs/datasets.md): writers and deletes append changed
 * time ranges per collection (`recordChanges`); the maintainer turns them
 * into dirty buckets of every dataset over that collection (`markDirty`),
 * then computes each dirty bucket from the events and replaces its rows
 * (`finishBucket`), which clears the mark only if nothing marked it again
 * meanwhile. Every step is idempotent, so a crash anywhere is repaired by
 * doing it again.
 */
export interface DatasetStore {
  /** Creates or replaces (then its rows and marks are dropped); true when it was created. */
  putDefinition(definition: DatasetDefinition): Promise<boolean>;
  getDefinition(projectId: string, name: string): Promise<DatasetDefinition | null>;
  /** One project's datasets by name, or every dataset (the maintainer). */
  listDefinitions(projectId?: string): Promise<DatasetDefinition[]>;
  /** Removes the definition, its rows and its marks; false when there was none. */
  deleteDefinition(projectId: string, name: string): Promise<boolean>;
  /** Projects and collections that have at least one dataset (what the write path records changes for). */
  watchedCollections(): Promise<{ projectId: string; collection: string }[]>;

  /** Appends changed ranges. On SQLite, inside the caller's unit of work. */
  recordChanges(projectId: string, changes: CollectionChange[]): Promise<void>;
  /** The oldest changes, at most `limit`. */
  readChanges(limit: number): Promise<StoredChange[]>;
  dropChanges(ids: string[]): Promise<void>;

  /** Marks buckets to compute (again): a new mark, or `seq` + 1 on an existing one. */
  markDirty(
    projectId: string,
    name: string,
    buckets: { startMs: number; endMs: number }[],
  ): Promise<void>;
  /**
   * Up to `limit` dirty buckets not leased by another process, each now leased
   * until `now + leaseMs` (a process that dies leaves the lease to expire).
   */
  leaseDirty(limit: number, leaseMs: number, now: number): Promise<DirtyBucket[]>;
  /**
   * Replaces the bucket's rows with `rows`; then clears its mark if its `seq`
   * is still `bucket.seq`, else only releases the lease (it is computed again).
   * A dataset deleted meanwhile stores nothing.
   */
  finishBucket(bucket: DirtyBucket, rows: BucketRow[]): Promise<void>;
  /** Dirty buckets of one dataset (its build is complete at 0). */
  countDirty(projectId: string, name: string): Promise<number>;
  /** Values of one index key in buckets starting in [fromMs, toMs), by start. */
  readRows(
    projectId: string,
    name: string,
    indexKey: string,
    fromMs: number,
    toMs: number,
  ): Promise<{ startMs: number; value: JsonValue }[]>;
  /** Drops rows and marks of buckets that start before `beforeMs` (out of the window). */
  pruneBefore(projectId: string, name: string, beforeMs: number): Promise<void>;
}
