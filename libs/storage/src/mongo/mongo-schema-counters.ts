import { AnyBulkWriteOperation, Collection, Filter } from 'mongodb';
import { TallyError } from '@app/events';
import {
  DEFAULT_MAX_PROPERTIES,
  PropertyType,
  SchemaCounter,
  SchemaDelta,
  admitDeltas,
  isReservedPath,
} from '@app/schema';
import { CappedCollection, SchemaCapState } from '../ports/metadata-store.port';
import { MongoConnection } from './mongo-connection';
import {
  SchemaDoc,
  counterField,
  decodePath,
  encodePath,
  schemaDocId,
} from './schema-counter.keys';

/** Admissions racing on one collection retry their compare-and-set; past this the worker's own retry takes over. */
const ADMISSION_ATTEMPTS = 50;

/**
 * Schema counters, the property cap and write markers in MongoDB: one
 * `schema_counters` document per (project, collection), so that a write's
 * counter changes for a collection are one atomic update, together with its
 * marker (the marker protocol of MarkedEventPersister, docs/queue.md).
 */
export class MongoSchemaCounters {
  constructor(private readonly connection: MongoConnection) {}

  async init(): Promise<void> {
    await (await this.schema()).createIndex({ p: 1, c: 1 }, { name: 'project_collection' });
    await (await this.schema()).createIndex({ capped: 1 }, { name: 'capped' });
    // The stale-marker sweep looks for old registrations across every project.
    await (await this.schema()).createIndex({ 'pending.at': 1 }, { name: 'pending_since' });
  }

  /**
   * Plain $inc upserts, one per collection document, in one bulkWrite; then
   * counters that reached 0 are removed. Used for deletes' decrements; the
   * worker's writes go through applyMarked() to stay exact under redelivery.
   */
  async applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void> {
    const byCollection = groupByCollection(await this.withoutRefusedDecrements(projectId, deltas));
    if (byCollection.size === 0) return;
    const ops: AnyBulkWriteOperation<SchemaDoc>[] = [...byCollection].map(([collection, inc]) => ({
      updateOne: {
        filter: { _id: schemaDocId(projectId, collection) },
        update: { $setOnInsert: { p: projectId, c: collection }, $inc: inc },
        upsert: true,
      },
    }));
    await (await this.schema()).bulkWrite(ops, { ordered: false });
    await this.removeZeros(
      projectId,
      [...byCollection].filter(([, inc]) => Object.values(inc).some((d) => d < 0)).map(([c]) => c),
    );
  }

  /** Registers a write marker on each collection document before the events are inserted. */
  async registerMarker(
    projectId: string,
    collections: string[],
    marker: string,
    at = new Date(),
  ): Promise<void> {
    if (collections.length === 0) return;
    await (
      await this.schema()
    ).bulkWrite(
      collections.map((collection) => ({
        updateOne: {
          filter: { _id: schemaDocId(projectId, collection) },
          update: {
            $setOnInsert: { p: projectId, c: collection },
            $push: { pending: { a: marker, at } },
          },
          upsert: true,
        },
      })),
      { ordered: false },
    );
  }

  /**
   * Adds the deltas of one collection and removes the marker in ONE atomic
   * update that only matches while the marker is still pending: applying the
   * same marker twice adds nothing the second time. Returns whether it applied.
   *
   * The property cap is decided in the same update: paths the collection has
   * not admitted are admitted while fewer than `maxProperties` are, in the
   * deltas' (first-seen) order, and the rest are refused (not counted; the
   * flag is set). An update that admits is conditioned on the admission
   * version it read, so concurrent workers never admit past the cap; a lost
   * race re-reads and decides again.
   */
  async applyMarked(
    projectId: string,
    collection: string,
    marker: string,
    deltas: SchemaDelta[],
    maxProperties = DEFAULT_MAX_PROPERTIES,
  ): Promise<boolean> {
    const schema = await this.schema();
    const _id = schemaDocId(projectId, collection);
    for (let attempt = 0; attempt < ADMISSION_ATTEMPTS; attempt++) {
      const doc = await schema.findOne(
        { _id, 'pending.a': marker },
        { projection: { props: 1, counts: 1, v: 1 } },
      );
      if (!doc) return false;
      const admitted = admittedPaths(doc);
      const plan = admitDeltas(
        deltas,
        { admittedCount: admitted.size, isAdmitted: (p) => admitted.has(p) },
        maxProperties,
      );
      const inc: Record<string, number> = groupByCollection(plan.deltas).get(collection) ?? {};
      const set: Record<string, unknown> = {};
      const unset: Record<string, ''> = {};
      const filter: Filter<SchemaDoc> = { _id, 'pending.a': marker };
      if (plan.admit.length > 0) {
        // Paths counted before the cap existed are written into the set too.
        for (const path of [...admitted, ...plan.admit]) {
          if (doc.props?.[encodePath(path)] === undefined) set[`props.${encodePath(path)}`] = 1;
        }
        inc.v = 1;
        filter.v = doc.v === undefined ? { $exists: false } : doc.v;
      }
      if (plan.refused.length > 0) {
        set.capped = true;
        // A refused path has no counter; a delete racing ahead of this
        // delivery may have left a negative one: it goes.
        for (const path of plan.refused) {
          if (doc.counts?.[encodePath(path)] !== undefined)
            unset[`counts.${encodePath(path)}`] = '';
        }
      }
      const update: Record<string, unknown> = { $pull: { pending: { a: marker } } };
      if (Object.keys(inc).length > 0) update.$inc = inc;
      if (Object.keys(set).length > 0) update.$set = set;
      if (Object.keys(unset).length > 0) update.$unset = unset;
      if ((await schema.updateOne(filter, update)).modifiedCount === 1) return true;
    }
    throw new TallyError(
      'unavailable',
      'SchemaContentionError',
      `Schema counters of "${collection}" are contended; the write is retried.`,
    );
  }

  /** Collections on which a marker is still pending, with its registration time. */
  async collectionsPending(
    projectId: string,
    marker: string,
  ): Promise<{ collection: string; at: Date }[]> {
    const docs = await (
      await this.schema()
    )
      .find({ p: projectId, 'pending.a': marker }, { projection: { c: 1, pending: 1 } })
      .toArray();
    return docs.map((d) => ({
      collection: d.c,
      at: new Date(d.pending!.find((p) => p.a === marker)!.at),
    }));
  }

  /** The markers pending on one collection document (one point read). */
  async markersPendingOn(projectId: string, collection: string): Promise<Set<string>> {
    const doc = await (
      await this.schema()
    ).findOne({ _id: schemaDocId(projectId, collection) }, { projection: { pending: 1 } });
    return new Set((doc?.pending ?? []).map((p) => p.a));
  }

  /**
   * Markers registered before `before`, oldest first, at most `limit`. The
   * documents are found through the `pending_since` index; a document also
   * lists its younger markers, which are left out here.
   */
  async listPending(
    before: Date,
    limit: number,
  ): Promise<{ projectId: string; collection: string; marker: string; at: Date }[]> {
    const out: { projectId: string; collection: string; marker: string; at: Date }[] = [];
    const cursor = (await this.schema()).find(
      { 'pending.at': { $lt: before } },
      { projection: { p: 1, c: 1, pending: 1 } },
    );
    try {
      for await (const doc of cursor) {
        for (const p of doc.pending ?? []) {
          const at = new Date(p.at);
          if (at < before) out.push({ projectId: doc.p, collection: doc.c, marker: p.a, at });
        }
        if (out.length >= limit) break;
      }
    } finally {
      await cursor.close();
    }
    return out.sort((a, b) => a.at.getTime() - b.at.getTime()).slice(0, limit);
  }

  /** Pending (marker, collection) entries in all. */
  async countPending(): Promise<number> {
    let n = 0;
    const cursor = (await this.schema()).find(
      { 'pending.a': { $exists: true } },
      { projection: { pending: 1 } },
    );
    try {
      for await (const doc of cursor) n += doc.pending?.length ?? 0;
    } finally {
      await cursor.close();
    }
    return n;
  }

  async getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]> {
    const filter =
      collection === undefined ? { p: projectId } : { _id: schemaDocId(projectId, collection) };
    const docs = await (await this.schema()).find(filter, { projection: { pending: 0 } }).toArray();
    const out: SchemaCounter[] = [];
    for (const doc of docs) {
      for (const [key, types] of Object.entries(doc.counts ?? {})) {
        for (const [type, count] of Object.entries(types ?? {})) {
          if (typeof count === 'number' && count !== 0)
            out.push({
              collection: doc.c,
              path: decodePath(key),
              type: type as PropertyType,
              count,
            });
        }
      }
    }
    return out.sort(
      (a, b) =>
        a.collection.localeCompare(b.collection) ||
        a.path.localeCompare(b.path) ||
        a.type.localeCompare(b.type),
    );
  }

  async getSchemaCap(
    projectId: string,
    collection: string,
    paths?: string[],
  ): Promise<SchemaCapState> {
    const doc = await (
      await this.schema()
    ).findOne(
      { _id: schemaDocId(projectId, collection) },
      { projection: { props: 1, counts: 1, capped: 1 } },
    );
    const admitted = admittedPaths(doc);
    return {
      admittedCount: admitted.size,
      admitted: paths === undefined ? [...admitted].sort() : paths.filter((p) => admitted.has(p)),
      capped: doc?.capped === true,
    };
  }

  async updateSchemaCap(
    projectId: string,
    collection: string,
    admit: string[],
    capped: boolean,
  ): Promise<void> {
    const set: Record<string, unknown> = { capped };
    for (const path of admit) set[`props.${encodePath(path)}`] = 1;
    const update: Record<string, unknown> = {
      $setOnInsert: { p: projectId, c: collection },
      $set: set,
    };
    if (admit.length > 0) update.$inc = { v: 1 };
    await (
      await this.schema()
    ).updateOne({ _id: schemaDocId(projectId, collection) }, update, { upsert: true });
  }

  async listCappedCollections(projectId?: string): Promise<CappedCollection[]> {
    const filter: Filter<SchemaDoc> =
      projectId === undefined ? { capped: true } : { p: projectId, capped: true };
    const docs = await (await this.schema()).find(filter, { projection: { p: 1, c: 1 } }).toArray();
    return docs
      .map((d) => ({ projectId: d.p, collection: d.c }))
      .sort(
        (a, b) =>
          a.projectId.localeCompare(b.projectId) || a.collection.localeCompare(b.collection),
      );
  }

  /**
   * In a capped collection a path outside the admitted set was refused by
   * every write that carried it, so no event was ever counted for it: its
   * decrements are dropped instead of creating a negative counter. In an
   * uncapped collection every stored path is admitted or about to be (its
   * delivery may not have applied yet), so decrements go through as before.
   */
  private async withoutRefusedDecrements(
    projectId: string,
    deltas: SchemaDelta[],
  ): Promise<SchemaDelta[]> {
    const decremented = [
      ...new Set(
        deltas.filter((d) => d.delta < 0 && !isReservedPath(d.path)).map((d) => d.collection),
      ),
    ];
    if (decremented.length === 0) return deltas;
    const docs = await (
      await this.schema()
    )
      .find(
        { _id: { $in: decremented.map((c) => schemaDocId(projectId, c)) }, capped: true },
        { projection: { c: 1, props: 1, counts: 1 } },
      )
      .toArray();
    if (docs.length === 0) return deltas;
    const admittedBy = new Map(docs.map((d) => [d.c, admittedPaths(d)]));
    return deltas.filter((d) => {
      const admitted = admittedBy.get(d.collection);
      return d.delta >= 0 || !admitted || isReservedPath(d.path) || admitted.has(d.path);
    });
  }

  /**
   * A counter at 0 is unset with an update conditioned on it still being 0, so
   * a concurrent increment is never lost.
   */
  private async removeZeros(projectId: string, collections: string[]): Promise<void> {
    const schema = await this.schema();
    for (const collection of collections) {
      const _id = schemaDocId(projectId, collection);
      const doc = await schema.findOne({ _id }, { projection: { counts: 1 } });
      for (const [key, types] of Object.entries(doc?.counts ?? {})) {
        for (const [type, count] of Object.entries(types ?? {})) {
          if (count !== 0) continue;
          const field = `counts.${key}.${type}`;
          await schema.updateOne({ _id, [field]: 0 }, { $unset: { [field]: '' } });
        }
      }
    }
  }

  private async schema(): Promise<Collection<SchemaDoc>> {
    return (await this.connection.db()).collection<SchemaDoc>('schema_counters');
  }
}

/**
 * The admitted set of a counter document: its `props`, plus paths with a
 * positive counter (counted before the cap existed; the next admission
 * writes them into `props`).
 */
function admittedPaths(doc: Pick<SchemaDoc, 'props' | 'counts'> | null): Set<string> {
  const out = new Set(Object.keys(doc?.props ?? {}).map(decodePath));
  for (const [key, types] of Object.entries(doc?.counts ?? {})) {
    const path = decodePath(key);
    if (isReservedPath(path) || out.has(path)) continue;
    if (Object.values(types ?? {}).some((n) => typeof n === 'number' && n > 0)) out.add(path);
  }
  return out;
}

function groupByCollection(deltas: SchemaDelta[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const d of deltas) {
    if (d.delta === 0) continue;
    let inc = out.get(d.collection);
    if (!inc) out.set(d.collection, (inc = {}));
    const field = counterField(d.path, d.type);
    inc[field] = (inc[field] ?? 0) + d.delta;
  }
  return out;
}
