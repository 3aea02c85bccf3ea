import { randomBytes } from 'node:crypto';
import { AnyBulkWriteOperation, Collection, MongoBulkWriteError, ObjectId } from 'mongodb';
import { JsonValue, parseJsonText } from '@app/events';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import {
  BucketRow,
  CollectionChange,
  DatasetDefinition,
  DatasetStore,
  DirtyBucket,
  StoredChange,
} from '../ports/dataset-store.port';

/**
 * Names, collections and index keys are text a client chose: every `_id` and
 * grouping field below is JSON text of an array of them, never a field name,
 * and the definition and row values are stored as JSON text (their keys may
 * start with `$` or hold dots). JSON strings are prefix-free (a string ends
 * at its one unescaped quote), so the `_id`s of one dataset or one index key
 * share a prefix no other's can start with.
 */
interface DefinitionDoc {
  _id: string; // datasetOf(project, name)
  projectId: string;
  name: string;
  collection: string;
  definition: string;
}
interface ChangeDoc {
  /** An ObjectId's hex: ordered by creation time (and by creation order within a process). */
  _id: string;
  projectId: string;
  collection: string;
  fromMs: number;
  toMs: number;
}
interface DirtyDoc {
  _id: string; // bucketOf(project, name, startMs)
  ds: string;
  projectId: string;
  name: string;
  startMs: number;
  endMs: number;
  seq: number;
  leaseUntil: number;
}
interface RowDoc {
  _id: string; // rowOf(project, name, indexKey, startMs): sorted by start within an index key
  ds: string;
  startMs: number;
  value: string;
  /** The finishBucket that wrote it (time-ordered): rows of older writes are dropped after a write. */
  v: string;
}

const datasetOf = (projectId: string, name: string) => JSON.stringify([projectId, name]);
const bucketOf = (projectId: string, name: string, startMs: number) =>
  JSON.stringify([projectId, name, startMs]);
const indexPrefix = (projectId: string, name: string, indexKey: string) =>
  JSON.stringify([projectId, name, indexKey]);

/**
 * A fixed-width text whose byte order is the order of the integer: `n` and
 * the distance from -MAX_SAFE_INTEGER for negatives, `p` and the value
 * otherwise, 16 digits each. `m` and `q` bound everything below and above.
 */
function sortableTime(ms: number): string {
  if (Number.isNaN(ms)) throw new RangeError('A dataset bucket time must be a number');
  if (ms > Number.MAX_SAFE_INTEGER) return 'q';
  if (ms < -Number.MAX_SAFE_INTEGER) return 'm';
  const whole = Math.ceil(ms);
  return whole < 0
    ? `n${String(Number.MAX_SAFE_INTEGER + whole).padStart(16, '0')}`
    : `p${String(whole).padStart(16, '0')}`;
}
const rowOf = (projectId: string, name: string, indexKey: string, startMs: number) =>
  indexPrefix(projectId, name, indexKey) + sortableTime(startMs);

/** Time-ordered and unique, so a write can drop exactly the rows written before it. */
const writeTag = () => `${sortableTime(Date.now())}:${randomBytes(8).toString('hex')}`;

/** SQLite orders text by its UTF-8 bytes; lists here follow the same order. */
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const parseDefinition = (doc: DefinitionDoc) =>
  parseJsonText(doc.definition, 'A stored dataset') as unknown as DatasetDefinition;

export type MongoDatasetStoreOptions = MongoStoreOptions & { collectionPrefix?: string };

/**
 * The DatasetStore port on MongoDB, without transactions. Each decision that
 * must hold between processes is one single-document operation (a lease is a
 * conditional findOneAndUpdate, a mark an upsert with `$inc`, the clear a
 * delete conditional on `seq`), and multi-document steps are ordered so a
 * crash between any two leaves a state the next run repairs: a bucket keeps
 * its mark until its rows are complete, and orphans of a half-done delete are
 * dropped when the name is defined again or their mark is finished.
 */
export class MongoDatasetStore implements DatasetStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(options: MongoDatasetStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.prefix = options.collectionPrefix ?? 'dataset';
  }

  async init(): Promise<void> {
    // The write path asks per batch whether a collection is watched.
    await (
      await this.definitions()
    ).createIndex({ projectId: 1, collection: 1 }, { name: 'watched' });
    // Free leases first; the sort on _id gives a stable order among them.
    await (await this.dirty()).createIndex({ leaseUntil: 1, _id: 1 }, { name: 'lease' });
    // A bucket's marks and rows (finish, prune, drop); readRows goes by _id ranges.
    await (await this.dirty()).createIndex({ ds: 1, startMs: 1 }, { name: 'bucket' });
    await (await this.rows()).createIndex({ ds: 1, startMs: 1, v: 1 }, { name: 'bucket' });
  }

  async putDefinition(d: DatasetDefinition): Promise<boolean> {
    const ds = datasetOf(d.projectId, d.name);
    const before = await (
      await this.definitions()
    ).findOneAndUpdate(
      { _id: ds },
      {
        $set: {
          projectId: d.projectId,
          name: d.name,
          collection: d.collection,
          definition: JSON.stringify(d),
        },
      },
      { upsert: true, returnDocument: 'before', projection: { _id: 1 } },
    );
    // After the write, and on a create too: a delete that stopped half-way
    // may have left rows or marks under this name, which must not count for
    // the new definition. A put that fails here is repaired by repeating it.
    await this.dropData(ds);
    return before === null;
  }

  async getDefinition(projectId: string, name: string): Promise<DatasetDefinition | null> {
    const doc = await (await this.definitions()).findOne({ _id: datasetOf(projectId, name) });
    return doc ? parseDefinition(doc) : null;
  }

  async listDefinitions(projectId?: string): Promise<DatasetDefinition[]> {
    const docs = await (
      await this.definitions()
    )
      .find(projectId === undefined ? {} : { projectId })
      .toArray();
    return docs
      .sort((a, b) => utf8Order(a.projectId, b.projectId) || utf8Order(a.name, b.name))
      .map(parseDefinition);
  }

  async deleteDefinition(projectId: string, name: string): Promise<boolean> {
    const ds = datasetOf(projectId, name);
    // The definition first: from then on finishBucket stores nothing, so the
    // drop below cannot be undone by a computation still running.
    const { deletedCount } = await (await this.definitions()).deleteOne({ _id: ds });
    await this.dropData(ds);
    return deletedCount === 1;
  }

  private async dropData(ds: string): Promise<void> {
    await (await this.dirty()).deleteMany({ ds });
    await (await this.rows()).deleteMany({ ds });
  }

  async watchedCollections(): Promise<{ projectId: string; collection: string }[]> {
    const docs = await (
      await this.definitions()
    )
      .find({}, { projection: { _id: 0, projectId: 1, collection: 1 } })
      .toArray();
    const seen = new Map<string, { projectId: string; collection: string }>();
    for (const { projectId, collection } of docs) {
      seen.set(JSON.stringify([projectId, collection]), { projectId, collection });
    }
    return [...seen.values()];
  }

  /**
   * Only collections with a dataset, read from the definitions: the write
   * path records after the events are stored (MarkedEventPersister), so a
   * dataset created after this read is built from events that include them.
   */
  async recordChanges(projectId: string, changes: CollectionChange[]): Promise<void> {
    if (changes.length === 0) return;
    const definitions = await this.definitions();
    const watched = new Map<string, boolean>();
    for (const collection of new Set(changes.map((c) => c.collection))) {
      const hit = await definitions.findOne({ projectId, collection }, { projection: { _id: 1 } });
      watched.set(collection, hit !== null);
    }
    const docs: ChangeDoc[] = changes
      .filter((c) => watched.get(c.collection))
      .map((c) => ({
        _id: new ObjectId().toHexString(),
        projectId,
        collection: c.collection,
        fromMs: c.fromMs,
        toMs: c.toMs,
      }));
    if (docs.length > 0) await (await this.changes()).insertMany(docs, { ordered: true });
  }

  async readChanges(limit: number): Promise<StoredChange[]> {
    if (limit <= 0) return [];
    const docs = await (await this.changes()).find({}).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map((d) => ({
      id: d._id,
      projectId: d.projectId,
      collection: d.collection,
      fromMs: d.fromMs,
      toMs: d.toMs,
    }));
  }

  async dropChanges(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await (await this.changes()).deleteMany({ _id: { $in: ids } });
  }

  async markDirty(
    projectId: string,
    name: string,
    buckets: { startMs: number; endMs: number }[],
  ): Promise<void> {
    if (buckets.length === 0) return;
    const ds = datasetOf(projectId, name);
    const ops: AnyBulkWriteOperation<DirtyDoc>[] = buckets.map((b) => ({
      updateOne: {
        filter: { _id: bucketOf(projectId, name, b.startMs) },
        update: {
          $inc: { seq: 1 },
          $set: { endMs: b.endMs },
          $setOnInsert: { ds, projectId, name, startMs: b.startMs, leaseUntil: 0 },
        },
        upsert: true,
      },
    }));
    const dirty = await this.dirty();
    try {
      await dirty.bulkWrite(ops, { ordered: false });
    } catch (error) {
      // Two upserts of one new mark can race to insert it; the loser's retry
      // finds it and increments it, so each mark still counts once.
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const failed = error.writeErrors;
      const list = Array.isArray(failed) ? failed : [failed];
      if (list.some((e) => e.code !== 11000)) throw error;
      await dirty.bulkWrite(
        list.map((e) => ops[e.index]),
        { ordered: false },
      );
    }
  }

  /**
   * One conditional findOneAndUpdate per bucket: the server applies each to
   * one document atomically, so two processes can never both see a bucket
   * free and take it.
   */
  async leaseDirty(limit: number, leaseMs: number, now: number): Promise<DirtyBucket[]> {
    const dirty = await this.dirty();
    const leased: DirtyBucket[] = [];
    while (leased.length < limit) {
      const doc = await dirty.findOneAndUpdate(
        { leaseUntil: { $lte: now } },
        { $set: { leaseUntil: now + leaseMs } },
        { sort: { leaseUntil: 1, _id: 1 }, returnDocument: 'after' },
      );
      if (!doc) break;
      leased.push({
        projectId: doc.projectId,
        name: doc.name,
        startMs: doc.startMs,
        endMs: doc.endMs,
        seq: doc.seq,
      });
    }
    return leased;
  }

  /**
   * New rows first (under a fresh tag), then the rows of older writes, then
   * the mark: a crash before the last step leaves the bucket marked, and its
   * next computation replaces whatever half-write is there. Two processes
   * finish one bucket together only when a lease expired mid-computation (the
   * port carries no lease owner to refuse the late one); their rows can then
   * mix, and stay until the bucket is marked again.
   */
  async finishBucket(bucket: DirtyBucket, rows: BucketRow[]): Promise<void> {
    const { projectId, name, startMs, seq } = bucket;
    const ds = datasetOf(projectId, name);
    const markId = bucketOf(projectId, name, startMs);
    const rowsOf = await this.rows();
    const dirty = await this.dirty();
    if (!(await this.defined(ds))) {
      await this.forgetBucket(ds, markId, startMs);
      return;
    }
    const v = writeTag();
    if (rows.length > 0) {
      await rowsOf.bulkWrite(
        rows.map((r) => ({
          replaceOne: {
            filter: { _id: rowOf(projectId, name, r.indexKey, startMs) },
            replacement: { ds, startMs, value: JSON.stringify(r.value), v },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    }
    await rowsOf.deleteMany({ ds, startMs, v: { $lt: v } });
    // Deleted while we wrote: deleteDefinition removes the definition before
    // the rows, so either its drop comes after our writes or we see it here.
    if (!(await this.defined(ds))) {
      await this.forgetBucket(ds, markId, startMs);
      return;
    }
    const cleared = await dirty.deleteOne({ _id: markId, seq });
    if (cleared.deletedCount === 0) {
      // Marked again meanwhile: computed again as soon as anyone leases.
      await dirty.updateOne({ _id: markId }, { $set: { leaseUntil: 0 } });
    }
  }

  async countDirty(projectId: string, name: string): Promise<number> {
    return (await this.dirty()).countDocuments({ ds: datasetOf(projectId, name) });
  }

  async readRows(
    projectId: string,
    name: string,
    indexKey: string,
    fromMs: number,
    toMs: number,
  ): Promise<{ startMs: number; value: JsonValue }[]> {
    const prefix = indexPrefix(projectId, name, indexKey);
    const docs = await (
      await this.rows()
    )
      .find(
        { _id: { $gte: prefix + sortableTime(fromMs), $lt: prefix + sortableTime(toMs) } },
        { projection: { startMs: 1, value: 1 } },
      )
      .sort({ _id: 1 })
      .toArray();
    return docs.map((d) => ({
      startMs: d.startMs,
      value: parseJsonText(d.value, 'A dataset value') as JsonValue,
    }));
  }

  async pruneBefore(projectId: string, name: string, beforeMs: number): Promise<void> {
    const ds = datasetOf(projectId, name);
    await (await this.dirty()).deleteMany({ ds, startMs: { $lt: beforeMs } });
    await (await this.rows()).deleteMany({ ds, startMs: { $lt: beforeMs } });
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private async defined(ds: string): Promise<boolean> {
    const doc = await (await this.definitions()).findOne({ _id: ds }, { projection: { _id: 1 } });
    return doc !== null;
  }

  /** A bucket of a dataset that no longer exists: its rows and its mark go, whatever the seq. */
  private async forgetBucket(ds: string, markId: string, startMs: number): Promise<void> {
    await (await this.rows()).deleteMany({ ds, startMs });
    await (await this.dirty()).deleteOne({ _id: markId });
  }

  private async definitions(): Promise<Collection<DefinitionDoc>> {
    return (await this.connection.db()).collection<DefinitionDoc>(`${this.prefix}s`);
  }
  private async changes(): Promise<Collection<ChangeDoc>> {
    return (await this.connection.db()).collection<ChangeDoc>(`${this.prefix}_changes`);
  }
  private async dirty(): Promise<Collection<DirtyDoc>> {
    return (await this.connection.db()).collection<DirtyDoc>(`${this.prefix}_dirty`);
  }
  private async rows(): Promise<Collection<RowDoc>> {
    return (await this.connection.db()).collection<RowDoc>(`${this.prefix}_rows`);
  }
}
