import { BSON, Collection, Document, Filter as MongoFilter, MongoBulkWriteError } from 'mongodb';
import { CollectionEvent, JsonObject, StoredEvent } from '@app/events';
import { BodyReplacement, EventStore, InsertOutcome } from '../ports/event-store.port';
import { SingleFlightProbe } from '../ports/readiness.port';
import { ScanRequest } from '@app/query-engine';
import { RejectedEvent } from '../ports/rejected-events.error';
import { MongoConnection, MongoStoreOptions, connectionFor } from './mongo-connection';
import { pushDownFilters } from './mongo-filter.pushdown';

export type MongoEventStoreOptions = MongoStoreOptions & {
  /** Collection holding every project's events (default `events`). */
  collection?: string;
  /** Events per page yielded by scan() (default 1000). */
  pageSize?: number;
};

/**
 * Layout: `_id` = keen.id (the deterministic id is the idempotency key), `p`
 * project, `c` collection, `t` timestamp as a Date, `e` the event body as a
 * sub-document (Keen property names contain no `.` and never start with `$`,
 * so the body is safe as is and filters can address `e.<path>`), and `m`, the
 * write marker of the delivery that inserted it while its counters are pending.
 */
export interface EventDoc {
  _id: string;
  p: string;
  c: string;
  t: Date;
  e: JsonObject;
  m?: string;
}

export interface MarkedInsertOutcome extends InsertOutcome {
  /** Events whose content the server refuses (never storable): dead-letter material. */
  rejected: RejectedEvent[];
}

// Server error codes that mean "this document can never be stored", as opposed
// to "the store is unavailable": BadValue, TypeMismatch, DollarPrefixedFieldName,
// EmptyFieldName, DottedFieldName, DocumentValidationFailure, KeyTooLong, BSONObjectTooLarge.
const CONTENT_ERRORS = new Set([2, 14, 52, 56, 57, 121, 17280, 10334]);
const DUPLICATE_KEY = 11000;
/** Ids per `_id: {$in}` lookup: a batch's worth, far below the 16 MiB command limit. */
const ID_CHUNK = 1000;
// 16 MiB document limit, minus room for the envelope fields.
const MAX_DOC_BYTES = 16 * 1024 * 1024 - 16 * 1024;
// Conditional updates in flight at once for replaceBodies.
const REPLACE_CONCURRENCY = 16;

export class MongoEventStore implements EventStore {
  private readonly connection: MongoConnection;
  private readonly owned: boolean;
  private readonly collectionName: string;
  private readonly pageSize: number;
  private readonly probe = new SingleFlightProbe('the MongoDB event store', async () =>
    (await this.events()).findOne({ _id: '' }, { projection: { _id: 1 } }),
  );

  constructor(options: MongoEventStoreOptions) {
    ({ connection: this.connection, owned: this.owned } = connectionFor(options));
    this.collectionName = options.collection ?? 'events';
    this.pageSize = options.pageSize ?? 1000;
  }

  /** Creates the indexes (idempotent). */
  async init(): Promise<void> {
    const events = await this.events();
    await events.createIndex({ p: 1, c: 1, t: 1 }, { name: 'project_collection_time' });
    // Every event written since markers stay carries `m` (docs/queue.md): the
    // settle of a dead delivery finds its events here. Events written before,
    // whose markers were cleared, are left out by the partial filter.
    await events.createIndex(
      { p: 1, m: 1 },
      { name: 'pending_marker', partialFilterExpression: { m: { $exists: true } } },
    );
  }

  async insert(projectId: string, events: CollectionEvent[]): Promise<InsertOutcome> {
    const { inserted, duplicates } = await this.insertMarked(projectId, events);
    return { inserted, duplicates };
  }

  /**
   * insertMany(ordered: false): one round trip, every storable event written
   * even if some are duplicates. Duplicate-key errors are "already stored";
   * content errors are returned as rejected; anything else rejects the call.
   */
  async insertMarked(
    projectId: string,
    events: CollectionEvent[],
    marker?: string,
  ): Promise<MarkedInsertOutcome> {
    const rejected: RejectedEvent[] = [];
    const docs: EventDoc[] = [];
    const byId = new Map<string, CollectionEvent>();
    for (const event of events) {
      if (byId.has(event.id)) continue; // the same id twice in one write is one event
      const doc: EventDoc = {
        _id: event.id,
        p: projectId,
        c: event.collection,
        t: new Date(event.timestamp),
        e: event.event,
      };
      if (marker) doc.m = marker;
      const size = BSON.calculateObjectSize(doc);
      if (size > MAX_DOC_BYTES) {
        rejected.push({
          id: event.id,
          reason: `event is ${size} bytes, over the store's 16 MiB document limit`,
        });
        continue;
      }
      byId.set(event.id, event);
      docs.push(doc);
    }
    const failed = new Map<string, number>();
    if (docs.length > 0) {
      try {
        await (await this.events()).insertMany(docs, { ordered: false });
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError) || error.writeConcernError) throw error;
        const writeErrors = Array.isArray(error.writeErrors)
          ? error.writeErrors
          : [error.writeErrors];
        // The driver wraps EVERY failure of a bulk write in MongoBulkWriteError,
        // a socket timeout or a failed server selection too. Those carry no
        // per-document errors from the server: the insert may not have run, or
        // may still run later. Reading one as "nothing failed" reported unstored
        // events as written and a redelivery's duplicates as new (counted
        // twice); docs/known-issues.md. Only a server reply names what failed.
        if (writeErrors.length === 0) throw error;
        for (const we of writeErrors) {
          const code = we.code as number;
          if (code !== DUPLICATE_KEY && !CONTENT_ERRORS.has(code)) throw error;
          failed.set(docs[we.index]._id, code);
          if (code !== DUPLICATE_KEY)
            rejected.push({
              id: docs[we.index]._id,
              reason: `store refused the event: ${we.errmsg}`,
            });
        }
      }
    }
    const inserted: CollectionEvent[] = [];
    const duplicates: string[] = [];
    for (const doc of docs) {
      const code = failed.get(doc._id);
      if (code === undefined) inserted.push(byId.get(doc._id)!);
      else if (code === DUPLICATE_KEY) duplicates.push(doc._id);
    }
    return { inserted, duplicates, rejected };
  }

  /**
   * The ids among these that the store does not hold (read back by _id).
   * Every lookup by id here filters on `_id` alone and checks the project
   * in code: ids are unique across projects, MongoDB answers either form
   * from the `_id` index, and the MongoDB-wire test server uses an index only
   * when a query's keys are exactly the index's (`{_id, p}` scanned the whole
   * collection: 1.7 s per 100 ids at 50,000 events; docs/known-issues.md).
   */
  async missingIds(projectId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const held = new Set(
      (await this.byId(ids, { _id: 1, p: 1 })).filter((d) => d.p === projectId).map((d) => d._id),
    );
    return ids.filter((id) => !held.has(id));
  }

  /**
   * The markers these stored events carry: the deliveries that inserted them.
   * Whether a marker's counters are applied is the ledger's to say.
   */
  async markersOf(projectId: string, ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const doc of await this.byId(ids, { _id: 1, p: 1, m: 1 })) {
      if (doc.p !== projectId || doc.m === undefined) continue;
      out.set(doc.m, [...(out.get(doc.m) ?? []), doc._id]);
    }
    return out;
  }

  /** Events a delivery inserted (carrying its marker), per collection. */
  async findByMarker(projectId: string, marker: string): Promise<CollectionEvent[]> {
    const docs = await (await this.events()).find({ p: projectId, m: marker }).toArray();
    return docs.map(toCollectionEvent);
  }

  /** Documents by `_id` alone (the projection decides what comes back), in chunks. */
  private async byId(ids: string[], projection: Record<string, 1>): Promise<EventDoc[]> {
    const events = await this.events();
    const out: EventDoc[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      out.push(
        ...(await events
          .find({ _id: { $in: ids.slice(i, i + ID_CHUNK) } }, { projection })
          .toArray()),
      );
    }
    return out;
  }

  async *scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    if (request.ids && request.ids.length === 0) return;
    if (request.limit !== undefined && request.limit <= 0) return;
    const filter: MongoFilter<EventDoc> = { p: request.projectId, c: request.collection };
    if (request.start !== undefined || request.end !== undefined) {
      filter.t = {};
      if (request.start !== undefined) filter.t.$gte = new Date(request.start);
      if (request.end !== undefined) filter.t.$lt = new Date(request.end);
    }
    const extra = pushDownFilters(request.filters ?? []);
    if (request.ids && (request.limit === undefined || Object.keys(extra).length === 0)) {
      yield* this.scanByIds(request, request.ids, signal);
      return;
    }
    if (request.ids) filter._id = { $in: request.ids };
    const direction = request.order === 'desc' ? -1 : 1;
    const cursor = (await this.events())
      .find({ ...filter, ...extra } as MongoFilter<EventDoc>, { projection: { m: 0 } })
      .sort({ t: direction, _id: direction })
      .batchSize(this.pageSize);
    if (request.limit !== undefined) cursor.limit(request.limit);
    try {
      let page: StoredEvent[] = [];
      for await (const doc of cursor) {
        if (signal?.aborted) return;
        page.push({ id: doc._id, timestamp: doc.t.getTime(), event: doc.e });
        if (page.length >= this.pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    } finally {
      await cursor.close();
    }
  }

  /**
   * A point lookup (keen.id filters) by `_id` alone, the project, collection
   * and timeframe checked here, in scan order (see missingIds: the test server
   * scanned the whole collection for `{p, c, _id: {$in}}`). The pushed-down
   * filters are left to the engine, which re-applies every filter; with a
   * limit they are not (the limit counts events before the engine's filters),
   * so scan() keeps those in the query.
   */
  private async *scanByIds(
    request: ScanRequest,
    ids: string[],
    signal?: AbortSignal,
  ): AsyncIterable<StoredEvent[]> {
    const inRange = (t: number) =>
      (request.start === undefined || t >= request.start) &&
      (request.end === undefined || t < request.end);
    const docs = (await this.byId([...new Set(ids)], { _id: 1, p: 1, c: 1, t: 1, e: 1 })).filter(
      (d) => d.p === request.projectId && d.c === request.collection && inRange(d.t.getTime()),
    );
    const sign = request.order === 'desc' ? -1 : 1;
    docs.sort(
      (a, b) =>
        sign * (a.t.getTime() - b.t.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0)),
    );
    const events = docs
      .slice(0, request.limit ?? docs.length)
      .map((d) => ({ id: d._id, timestamp: d.t.getTime(), event: d.e }));
    for (let i = 0; i < events.length; i += this.pageSize) {
      if (signal?.aborted) return;
      yield events.slice(i, i + this.pageSize);
    }
  }

  async deleteByIds(
    projectId: string,
    collection: string,
    ids: string[],
  ): Promise<CollectionEvent[]> {
    if (ids.length === 0) return [];
    const events = await this.events();
    // By `_id` alone, the project and collection checked here (see missingIds).
    const found = (await this.byId(ids, { _id: 1, p: 1, c: 1, t: 1, e: 1 })).filter(
      (d) => d.p === projectId && d.c === collection,
    );
    if (found.length === 0) return [];
    // Delete exactly what was read, so the returned events (and the counter
    // decrements computed from them) match what was removed. An id's project
    // and collection never change, so `_id` alone names the same documents.
    const result = await events.deleteMany({ _id: { $in: found.map((d) => d._id) } });
    if (result.deletedCount === found.length) return found.map(toCollectionEvent);
    const left = new Set(
      (
        await events
          .find({ _id: { $in: found.map((d) => d._id) } }, { projection: { _id: 1 } })
          .toArray()
      ).map((d) => d._id),
    );
    return found.filter((d) => !left.has(d._id)).map(toCollectionEvent);
  }

  /**
   * One conditional update per event, so each result says whether that event
   * changed (a bulk write only reports totals). The condition is the whole
   * body as read (BSON equality; the body comes back from the driver with its
   * fields in stored order) and the write marker the delete found settled
   * (none for events written before markers stayed): the persister that
   * settles a dead delivery recounts that delivery's events from their stored
   * bodies, so a body must not change under a pending marker (docs/queue.md),
   * including the marker of a later delivery that inserted the event again.
   */
  async replaceBodies(
    projectId: string,
    collection: string,
    replacements: BodyReplacement[],
  ): Promise<string[]> {
    const events = await this.events();
    const replaced: string[] = [];
    for (let i = 0; i < replacements.length; i += REPLACE_CONCURRENCY) {
      const slice = replacements.slice(i, i + REPLACE_CONCURRENCY);
      const results = await Promise.all(
        slice.map((r) =>
          events.updateOne(
            {
              _id: r.id,
              p: projectId,
              c: collection,
              e: r.expected,
              m: r.marker ?? { $exists: false },
            },
            { $set: { e: r.body } },
          ),
        ),
      );
      results.forEach((result, j) => {
        if (result.modifiedCount === 1) replaced.push(slice[j].id);
      });
    }
    return replaced;
  }

  /**
   * One aggregation over the events collection, read to its end (the
   * compiled query path: its results are one document per result cell).
   * `maxTimeMS` bounds it on the server; an abort closes the cursor.
   */
  async aggregate(
    pipeline: Document[],
    options: { maxTimeMS: number; signal?: AbortSignal },
  ): Promise<Document[]> {
    const cursor = (await this.events()).aggregate(pipeline, {
      maxTimeMS: options.maxTimeMS,
      allowDiskUse: true,
    });
    const close = () => void cursor.close().catch(() => undefined);
    options.signal?.addEventListener('abort', close, { once: true });
    try {
      return await cursor.toArray();
    } finally {
      options.signal?.removeEventListener('abort', close);
      await cursor.close();
    }
  }

  async dropCollection(projectId: string, collection: string): Promise<number> {
    const result = await (await this.events()).deleteMany({ p: projectId, c: collection });
    return result.deletedCount;
  }

  async countCollection(projectId: string, collection: string): Promise<number> {
    return (await this.events()).countDocuments({ p: projectId, c: collection });
  }

  /** A point read on `_id`, bounded by the timeout (a hung server never answers it). */
  ping(timeoutMs: number): Promise<void> {
    return this.probe.ping(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }

  private async events(): Promise<Collection<EventDoc>> {
    return (await this.connection.db()).collection<EventDoc>(this.collectionName);
  }
}

function toCollectionEvent(doc: EventDoc | Document): CollectionEvent {
  return { id: doc._id, collection: doc.c, timestamp: (doc.t as Date).getTime(), event: doc.e };
}
