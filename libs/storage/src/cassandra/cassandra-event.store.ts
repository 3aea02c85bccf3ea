import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Client, types } from 'cassandra-driver';
import { CollectionEvent, namedByUniquenessToken, StoredEvent } from '@app/events';
import { ScanRequest } from '@app/query-engine';
import { BodyReplacement, EventStore, InsertOutcome } from '../ports/event-store.port';
import { SingleFlightProbe } from '../ports/readiness.port';
import { chunks, groupBy, mapBounded } from './bounded-concurrency';
import {
  assertIdentifier,
  CassandraStoreOptions,
  createClient,
  PartitionRead,
} from './cassandra-client';
import { migrate } from './cassandra-migrations';
import { CQL } from './cassandra-queries';
import { claimPartition } from './claim-partition';
import { CassandraEventWriter } from './cassandra-event.writer';
import { MAX_TIME, MIN_TIME, readPartitions, toStoredEvent } from './cassandra-partition.reader';

const DAY_MS = 86_400_000;
// Ids per `id IN ?` lookup on the by-id table (one partition per id).
const ID_CHUNK = 100;
// Rows per single-partition UNLOGGED batch of a marker's ids.
const MARKER_ROWS = 500;
// Pages each slice of a scan reads ahead of the consumer; slices are cut to
// about this many pages, so the slices after the one being yielded are read
// whole meanwhile (cassandra-partition.reader.ts).
const READ_AHEAD = 2;

/** Where an event row lives, as the by-id table records it. */
interface Location {
  id: string;
  claim: string | null;
  collection: string;
  bucket: number;
  ts: number;
}

export interface CassandraReadStats {
  /** Event partitions scans started reading. */
  partitionsRead: number;
  /** Event rows scans returned. */
  rowsRead: number;
}

/**
 * Events in `events`, one partition per (project, collection, time bucket),
 * clustered by (ts, id); `event_claims` maps (project, keen.id) to the row;
 * `event_buckets` lists each collection's buckets. See docs/cassandra.md.
 *
 * Insert order is what makes redelivery safe without transactions: bucket
 * row, then event rows (upserts, idempotent), and the claim row LAST with
 * `IF NOT EXISTS` (in conditional batches per claim partition). The LWT is
 * linearizable, so across every delivery of an id exactly one insert call
 * reports it new; a crash before it leaves an event row that the redelivery
 * rewrites identically and then claims.
 */
export class CassandraEventStore implements EventStore {
  private readonly client: Client;
  private readonly bucketMs: number;
  private readonly pageSize: number;
  private readonly scanConcurrency: number;
  private readonly writeConcurrency: number;
  private readonly claimConcurrency: number;
  private readonly writer: CassandraEventWriter;
  private readonly stats: CassandraReadStats = { partitionsRead: 0, rowsRead: 0 };
  private legacyClaims: Promise<boolean> | undefined;
  private readonly probe = new SingleFlightProbe('the Cassandra event store', () =>
    this.client.execute('SELECT release_version FROM system.local', [], { isIdempotent: true }),
  );

  constructor(private readonly options: CassandraStoreOptions) {
    assertIdentifier(options.keyspace, 'keyspace');
    this.bucketMs = options.bucketMs ?? DAY_MS;
    if (!Number.isInteger(this.bucketMs) || this.bucketMs < 60_000)
      throw new Error('cassandra bucketMs must be an integer >= 60000');
    this.pageSize = options.pageSize ?? 1000;
    this.scanConcurrency = options.scanConcurrency ?? 4;
    this.writeConcurrency = options.writeConcurrency ?? 64;
    this.claimConcurrency = options.claimConcurrency ?? 64;
    this.client = createClient(options, options.keyspace);
    this.writer = new CassandraEventWriter(
      this.client,
      (ts) => this.bucketOf(ts),
      this.writeConcurrency,
      this.claimConcurrency,
    );
  }

  /**
   * Creates the keyspace if missing (SimpleStrategy; production clusters
   * create it beforehand with NetworkTopologyStrategy), applies pending
   * migrations and pins the bucket width: data written with one width cannot
   * be read with another.
   */
  async init(): Promise<void> {
    const admin = createClient(this.options);
    try {
      const rf = this.options.replicationFactor ?? 1;
      await admin.execute(
        `CREATE KEYSPACE IF NOT EXISTS ${this.options.keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${rf}}`,
      );
    } finally {
      await admin.shutdown();
    }
    await migrate(this.client, { runner: `${hostname()}:${process.pid}` });
    const pinned = await this.client.execute(
      'INSERT INTO store_settings (name, value) VALUES (?, ?) IF NOT EXISTS',
      ['bucket_ms', String(this.bucketMs)],
    );
    const current = pinned.wasApplied() ? String(this.bucketMs) : (pinned.first().value as string);
    if (current !== String(this.bucketMs)) {
      throw new Error(
        `cassandra keyspace ${this.options.keyspace} uses bucketMs=${current}; this process was configured with ${this.bucketMs}`,
      );
    }
  }

  /** Claim tokens of stored ids: token -> the ids its insert call reported new. */
  async claimTokens(projectId: string, ids: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const l of (await this.locate(projectId, [...new Set(ids)])).values()) {
      if (l.claim) out.set(l.claim, [...(out.get(l.claim) ?? []), l.id]);
    }
    return out;
  }

  /**
   * Records the ids a delivery marker may claim, before insertClaimed() claims
   * any of them under it: a later delivery settling a dead marker reads them
   * back (claimedBy) instead of trusting that it carries all of them.
   */
  async recordMarker(projectId: string, marker: string, ids: string[]): Promise<void> {
    const batches = chunks([...new Set(ids)], MARKER_ROWS).map((chunk) =>
      chunk.map((id) => ({ query: CQL.markerEvent, params: [projectId, marker, id] })),
    );
    await mapBounded(batches, this.writeConcurrency, (batch) =>
      this.client.batch(batch, { prepare: true, logged: false }),
    );
  }

  /**
   * Every stored event `marker` claimed: the ids recordMarker() recorded for
   * it (and those of `known`) whose by-id row carries the marker. Bodies come
   * from `known` where it has them, otherwise from the event rows (always for
   * uniqueness-token events: the copy carried may not be the one stored).
   */
  async claimedBy(
    projectId: string,
    marker: string,
    known: CollectionEvent[],
  ): Promise<CollectionEvent[]> {
    const ids = new Set(known.map((e) => e.id));
    let pageState: string | undefined;
    do {
      const rs = await this.client.execute(CQL.markerEvents, [projectId, marker], {
        prepare: true,
        fetchSize: 5000,
        pageState,
      });
      for (const row of rs.rows) ids.add(row.id as string);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    const bodies = new Map(known.map((e) => [e.id, e]));
    const claimed = [...(await this.locate(projectId, [...ids])).values()].filter(
      (l) => l.claim === marker,
    );
    const events = await mapBounded(claimed, this.writeConcurrency, async (l) => {
      const carried = bodies.get(l.id);
      // A token's carried copy may not be the body stored under its id.
      if (carried && !namedByUniquenessToken(carried.event)) return carried;
      const row = await this.readRow(projectId, l);
      return row && { ...row, collection: l.collection };
    });
    return events.filter((e): e is CollectionEvent => e !== undefined);
  }

  /** Drops a marker's recorded ids once its counters are applied. */
  async forgetMarker(projectId: string, marker: string): Promise<void> {
    await this.client.execute(CQL.forgetMarker, [projectId, marker]);
  }

  /** Counters since start: how many partitions and rows scans have read. */
  readStats(): CassandraReadStats {
    return { ...this.stats };
  }

  bucketOf(timestamp: number): number {
    return Math.floor(timestamp / this.bucketMs) * this.bucketMs;
  }

  async insert(projectId: string, events: CollectionEvent[]): Promise<InsertOutcome> {
    return this.insertClaimed(projectId, events, randomUUID());
  }

  /**
   * insert() under a caller-chosen claim token (a delivery marker): the by-id
   * row of every event this call reports new records it, so a later delivery
   * can tell, through claimTokens(), which earlier delivery inserted its
   * duplicates and settle that delivery's counters (see docs/cassandra.md).
   */
  async insertClaimed(
    projectId: string,
    events: CollectionEvent[],
    token: string,
  ): Promise<InsertOutcome> {
    const unique = new Map<string, CollectionEvent>();
    for (const e of events) if (!unique.has(e.id)) unique.set(e.id, e);
    // Fast path for redelivery and replay: ids already claimed are skipped
    // without rewriting their rows (the first stored body stays).
    const known = await this.locate(projectId, [...unique.keys()]);
    await this.removeStrayRows(projectId, [...unique.values()], known);
    let fresh = [...unique.values()].filter((e) => !known.has(e.id));
    await this.writer.writeBuckets(projectId, fresh);
    await this.writer.writeRows(
      projectId,
      fresh.filter((e) => !namedByUniquenessToken(e.event)),
    );
    // Copies of one token may differ and land on one row (same timestamp): the
    // row is written only if absent, and a copy that found another's row goes
    // on with that body, so the claim counts exactly what is stored.
    const found = await this.writer.writeRowsIfAbsent(
      projectId,
      fresh.filter((e) => namedByUniquenessToken(e.event)),
    );
    if (found.size > 0) fresh = fresh.map((e) => ({ ...e, event: found.get(e.id) ?? e.event }));
    const won = await this.writer.claimAll(projectId, fresh, token);
    const inserted = fresh.filter((e) => won.has(e.id));
    const duplicates = [...unique.keys()].filter((id) => !won.has(id));
    return { inserted, duplicates };
  }

  async *scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    if (request.limit !== undefined && request.limit <= 0) return;
    const pages = request.ids ? this.scanIds(request) : this.scanRange(request, signal);
    let left = request.limit ?? Infinity;
    for await (const page of pages) {
      const out = page.length > left ? page.slice(0, left) : page;
      left -= out.length;
      this.stats.rowsRead += out.length;
      yield out;
      if (left <= 0) return;
    }
  }

  async deleteByIds(
    projectId: string,
    collection: string,
    ids: string[],
  ): Promise<CollectionEvent[]> {
    const located = [...(await this.locate(projectId, [...new Set(ids)])).values()].filter(
      (l) => l.collection === collection,
    );
    const rows = await mapBounded(located, this.writeConcurrency, (l) =>
      this.readRow(projectId, l),
    );
    // Event row first, by-id row after: a crash in between leaves a by-id row
    // pointing at nothing, which a retry of the delete removes and which can
    // never make a deleted event visible again.
    await mapBounded(located, this.writeConcurrency, (l) =>
      this.client.execute(CQL.deleteRow, [
        projectId,
        l.collection,
        new Date(l.bucket),
        new Date(l.ts),
        l.id,
      ]),
    );
    await this.forgetIds(
      projectId,
      located.map((l) => l.id),
    );
    const found = new Map<string, CollectionEvent>();
    for (const row of rows) if (row) found.set(row.id, { ...row, collection });
    return [...new Set(ids)].filter((id) => found.has(id)).map((id) => found.get(id)!);
  }

  /**
   * Only events the by-id table points at are rewritten, at the coordinates it
   * records, so both tables keep describing the same rows: an event row whose
   * claim is missing (an insert that died before its LWT) is left for the
   * redelivery that rewrites and claims it, which would otherwise restore the
   * body and count it in full. The body itself is a Paxos compare-and-set.
   */
  async replaceBodies(
    projectId: string,
    collection: string,
    replacements: BodyReplacement[],
  ): Promise<string[]> {
    const located = await this.locate(projectId, [...new Set(replacements.map((r) => r.id))]);
    const targets = replacements.filter((r) => located.get(r.id)?.collection === collection);
    const applied = await mapBounded(targets, this.claimConcurrency, async (r) => {
      const l = located.get(r.id)!;
      const rs = await this.client.execute(CQL.replaceBody, [
        JSON.stringify(r.body),
        projectId,
        collection,
        new Date(l.bucket),
        new Date(l.ts),
        r.id,
        JSON.stringify(r.expected),
      ]);
      return rs.wasApplied();
    });
    return targets.filter((_, i) => applied[i]).map((r) => r.id);
  }

  async dropCollection(projectId: string, collection: string): Promise<number> {
    let removed = 0;
    for (const bucket of await this.listBuckets(projectId, collection, MIN_TIME, MAX_TIME, false)) {
      let pageState: string | undefined;
      do {
        const rs = await this.client.execute(
          CQL.idsOfPartition,
          [projectId, collection, new Date(bucket)],
          {
            fetchSize: 1000,
            pageState,
            autoPage: false,
          },
        );
        const batch = rs.rows.map((r) => ({
          query: CQL.deleteRow,
          params: [projectId, collection, new Date(bucket), r.ts, r.id],
        }));
        if (batch.length > 0) await this.client.batch(batch, { prepare: true, logged: false });
        await this.forgetIds(
          projectId,
          rs.rows.map((r) => r.id as string),
        );
        removed += rs.rows.length;
        pageState = rs.pageState ?? undefined;
      } while (pageState);
      // One partition tombstone over the row tombstones: compaction drops them together.
      await this.client.execute(CQL.deletePartition, [projectId, collection, new Date(bucket)]);
    }
    await this.client.execute(CQL.deleteBuckets, [projectId, collection]);
    return removed;
  }

  async countCollection(projectId: string, collection: string): Promise<number> {
    const buckets = await this.listBuckets(projectId, collection, MIN_TIME, MAX_TIME, false);
    const counts = await mapBounded(buckets, this.scanConcurrency, async (bucket) => {
      const rs = await this.client.execute(CQL.countPartition, [
        projectId,
        collection,
        new Date(bucket),
      ]);
      return (rs.first().n as types.Long).toNumber();
    });
    return counts.reduce((a, b) => a + b, 0);
  }

  /** The node's own row of system.local, bounded by the timeout (a hung node never answers it). */
  ping(timeoutMs: number): Promise<void> {
    return this.probe.ping(timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.shutdown();
  }

  private async *scanRange(
    request: ScanRequest,
    signal?: AbortSignal,
  ): AsyncIterable<StoredEvent[]> {
    const desc = request.order === 'desc';
    const start = request.start ?? MIN_TIME;
    const end = request.end ?? MAX_TIME;
    const buckets = await this.listBuckets(request.projectId, request.collection, start, end, desc);
    const partitions = buckets.map((bucket) => ({
      key: { projectId: request.projectId, collection: request.collection, bucket },
      // A partition holds the rows of its bucket only.
      start: Math.max(start, bucket),
      end: Math.min(end, bucket + this.bucketMs),
    }));
    const options = {
      concurrency: this.scanConcurrency,
      ahead: READ_AHEAD,
      fetchSize: this.pageSize,
      desc,
    };
    yield* readPartitions(this.client, partitions, options, signal, (index) =>
      this.noteRead({ ...partitions[index].key }),
    );
  }

  private noteRead(read: PartitionRead): void {
    this.stats.partitionsRead++;
    this.options.onRead?.(read);
  }

  /** Point reads through the by-id table; ordered and paged like a range scan. */
  private async *scanIds(request: ScanRequest): AsyncIterable<StoredEvent[]> {
    const start = request.start ?? MIN_TIME;
    const end = request.end ?? MAX_TIME;
    const located = [
      ...(await this.locate(request.projectId, [...new Set(request.ids)])).values(),
    ].filter((l) => l.collection === request.collection && l.ts >= start && l.ts < end);
    const rows = (
      await mapBounded(located, this.writeConcurrency, (l) => this.readRow(request.projectId, l))
    ).filter((r): r is StoredEvent => r !== undefined);
    const sign = request.order === 'desc' ? -1 : 1;
    rows.sort(
      (a, b) => sign * (a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
    for (const page of chunks(rows, this.pageSize)) yield page;
  }

  /** Buckets of a collection that may hold events in [start, end), in time order. */
  private async listBuckets(
    projectId: string,
    collection: string,
    start: number,
    end: number,
    desc: boolean,
  ): Promise<number[]> {
    const query = `SELECT bucket FROM event_buckets WHERE project = ? AND collection = ? AND bucket >= ? AND bucket < ?${
      desc ? ' ORDER BY bucket DESC' : ''
    }`;
    const out: number[] = [];
    const params = [projectId, collection, new Date(this.bucketOf(start)), new Date(end)];
    let pageState: string | undefined;
    do {
      const rs = await this.client.execute(query, params, {
        fetchSize: 5000,
        pageState,
        autoPage: false,
      });
      for (const row of rs.rows) out.push((row.bucket as Date).getTime());
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return out;
  }

  /**
   * A copy of an id that is claimed at other coordinates (another copy of a
   * uniqueness token, a client-named retry at another receipt time): if a
   * delivery of this copy died between writing its row and claiming, that row
   * is still there, claimed by nothing and shown by scans, and the fast path
   * above would never revisit it. It is removed here, read first: most copies
   * left no row, and a blind delete would add a tombstone per replayed copy.
   */
  private async removeStrayRows(
    projectId: string,
    events: CollectionEvent[],
    known: Map<string, Location>,
  ): Promise<void> {
    const strays = events.flatMap((e): Location[] => {
      const at = known.get(e.id);
      const here = {
        id: e.id,
        claim: null,
        collection: e.collection,
        bucket: this.bucketOf(e.timestamp),
        ts: e.timestamp,
      };
      const elsewhere =
        at !== undefined &&
        (at.collection !== here.collection || at.bucket !== here.bucket || at.ts !== here.ts);
      return elsewhere ? [here] : [];
    });
    // Through Paxos and without a plain read first: a row written by a
    // timed-out LWT may still be an uncommitted proposal that a plain read
    // does not see; the LWT delete completes it, then removes it.
    await mapBounded(strays, this.writeConcurrency, async (l) => {
      await this.client.execute(CQL.deleteStrayRow, [
        projectId,
        l.collection,
        new Date(l.bucket),
        new Date(l.ts),
        l.id,
      ]);
    });
  }

  /**
   * Where each id's row lives: its claim in `event_claims`, one query per
   * claim partition, and (while the keyspace holds any) its claim in the
   * `events_by_id` table of earlier versions.
   */
  private async locate(projectId: string, ids: string[]): Promise<Map<string, Location>> {
    const out = new Map<string, Location>();
    const queries = [...groupBy(ids, claimPartition)].flatMap(([part, list]) =>
      chunks(list, ID_CHUNK).map((chunk) => ({
        query: CQL.lookup,
        params: [projectId, part, chunk],
      })),
    );
    if (await this.hasLegacyClaims())
      for (const chunk of chunks(ids, ID_CHUNK))
        queries.push({ query: CQL.legacyLookup, params: [projectId, chunk] });
    await mapBounded(queries, 8, async ({ query, params }) => {
      const rs = await this.client.execute(query, params);
      for (const r of rs.rows) {
        out.set(r.id, {
          id: r.id,
          claim: r.claim,
          collection: r.collection,
          bucket: (r.bucket as Date).getTime(),
          ts: (r.ts as Date).getTime(),
        });
      }
    });
    return out;
  }

  /** Drops the claims of deleted events, after their rows (see deleteByIds). */
  private async forgetIds(projectId: string, ids: string[]): Promise<void> {
    const legacy = await this.hasLegacyClaims();
    await mapBounded(ids, this.writeConcurrency, async (id) => {
      await this.client.execute(CQL.deleteClaim, [projectId, claimPartition(id), id]);
      if (legacy) await this.client.execute(CQL.legacyDelete, [projectId, id]);
    });
  }

  /**
   * Whether `events_by_id` (claims written before migration 3) holds any row,
   * asked once per process: no version since writes it, so a table found
   * empty stays empty and its reads are skipped. Processes of an earlier
   * version must be stopped before this one starts (docs/cassandra.md).
   */
  private hasLegacyClaims(): Promise<boolean> {
    this.legacyClaims ??= this.client
      .execute(CQL.legacyAny, [])
      .then((rs) => rs.rowLength > 0)
      .catch((error: unknown) => {
        this.legacyClaims = undefined;
        throw error;
      });
    return this.legacyClaims;
  }

  private async readRow(projectId: string, l: Location): Promise<StoredEvent | undefined> {
    const row = (
      await this.client.execute(CQL.point, [
        projectId,
        l.collection,
        new Date(l.bucket),
        new Date(l.ts),
        l.id,
      ])
    ).first();
    return row ? toStoredEvent(row) : undefined;
  }
}
