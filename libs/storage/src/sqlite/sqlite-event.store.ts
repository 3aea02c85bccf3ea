import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CollectionEvent, JsonObject, parseJsonText, StoredEvent } from '@app/events';
import { NdjsonPage, NdjsonScanRequest, ScanRequest } from '@app/query-engine';
import { BodyReplacement, EventStore, InsertOutcome } from '../ports/event-store.port';
import { SqliteDatabase } from './sqlite-database';
import { sqliteNdjsonPages } from './sqlite-ndjson-pages';

interface EventRow {
  id: string;
  ts: number;
  body: string;
  collection?: string;
}

const PAGE_SIZE = 2000;
/** Body text per page: JSON.parse runs at a few hundred MB/s, so about 2–5 ms of parsing (done by the reader, in its slices). */
const PAGE_BYTES = 1_000_000;
/** Reading time per page. */
const PAGE_MS = 1;
// SQLite's default limit on bound parameters is far above this; ids are chunked.
const ID_CHUNK = 500;

/**
 * The body is parsed on first use of `event`: an export without filters or
 * property_names sends `text` as stored and never needs the object, and
 * parsing is most of a scan's time. The body was written as
 * JSON.stringify(event) (insert, replaceBodies), so `text` is exactly that.
 */
function toStored(row: EventRow): StoredEvent {
  const text = row.body;
  let parsed: JsonObject | undefined;
  const stored: StoredEvent = {
    id: row.id,
    timestamp: row.ts,
    get event(): JsonObject {
      return (parsed ??= parseJsonText(text, 'A stored event body') as JsonObject);
    },
    set event(value: JsonObject) {
      parsed = value;
      stored.text = undefined;
    },
  };
  // Not enumerable: a copy ({...e}) or a comparison sees the event's fields only.
  Object.defineProperty(stored, 'text', { value: text, writable: true, enumerable: false });
  return stored;
}

/**
 * Rows parsed until the statement is exhausted or the page's byte or time
 * budget is spent (at least one row, so a scan always advances). `cut` says
 * the page stopped early; leaving the for-of (a return or a parse error)
 * resets the statement, which frees the reader connection.
 */
function readPage(rows: IterableIterator<EventRow>): { events: StoredEvent[]; cut: boolean } {
  const events: StoredEvent[] = [];
  const started = performance.now();
  let bytes = 0;
  for (const row of rows) {
    events.push(toStored(row));
    bytes += row.body.length;
    if (bytes >= PAGE_BYTES || performance.now() - started >= PAGE_MS) return { events, cut: true };
  }
  return { events, cut: false };
}

export class SqliteEventStore implements EventStore {
  private readonly insertStmt;

  constructor(private readonly db: SqliteDatabase) {
    this.insertStmt = db.writer.prepare(
      'INSERT OR IGNORE INTO events (project, collection, id, ts, body) VALUES (?, ?, ?, ?, ?)',
    );
  }

  async insert(projectId: string, events: CollectionEvent[]): Promise<InsertOutcome> {
    const inserted: CollectionEvent[] = [];
    const duplicates: string[] = [];
    const write = () => {
      for (const e of events) {
        const info = this.insertStmt.run(
          projectId,
          e.collection,
          e.id,
          e.timestamp,
          JSON.stringify(e.event),
        );
        if (info.changes === 1) inserted.push(e);
        else duplicates.push(e.id);
      }
    };
    // Inside a caller's transaction the rows join it; otherwise they get their own.
    await this.db.write(write);
    return { inserted, duplicates };
  }

  /**
   * Keyset pagination on (ts, id): each page is a short read on the time index,
   * and the loop yields between pages so a long scan never holds the event
   * loop (which the write path shares in the standalone server). A page ends
   * at PAGE_SIZE rows, PAGE_BYTES of bodies or PAGE_MS of reading,
   * whichever comes first: 2,000 bodies of up to 1 MB each, read and parsed
   * in one synchronous go, held the loop for seconds. Bodies are parsed when
   * first used (toStored), so a page's parsing is bounded by PAGE_BYTES too.
   */
  async *scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    if (request.ids) {
      yield* this.scanIds(request);
      return;
    }
    const desc = request.order === 'desc';
    const limit = request.limit ?? Infinity;
    const start = request.start ?? Number.MIN_SAFE_INTEGER;
    const end = request.end ?? Number.MAX_SAFE_INTEGER;
    const first = this.db.reader.prepare(
      `SELECT id, ts, body FROM events WHERE project = ? AND collection = ? AND ts >= ? AND ts < ?
       ORDER BY ts ${desc ? 'DESC' : 'ASC'}, id ${desc ? 'DESC' : 'ASC'} LIMIT ?`,
    );
    // The row value is the index's own bound: SQLite seeks straight to the last
    // row read. Spelled `ts > ? OR (ts = ? AND id > ?)` it seeks only to the
    // timeframe's start and steps over every row read before, so each page
    // cost more than the last (16 ms of skipping per page at 200,000 events).
    const next = this.db.reader.prepare(
      `SELECT id, ts, body FROM events WHERE project = ? AND collection = ?
       AND ${desc ? '(ts, id) < (?, ?) AND ts >= ?' : '(ts, id) > (?, ?) AND ts < ?'}
       ORDER BY ts ${desc ? 'DESC' : 'ASC'}, id ${desc ? 'DESC' : 'ASC'} LIMIT ?`,
    );
    let sent = 0;
    let last: { id: string; ts: number } | undefined;
    while (sent < limit) {
      signal?.throwIfAborted();
      const size = Math.min(PAGE_SIZE, limit - sent);
      const rows = (
        last
          ? next.iterate(
              request.projectId,
              request.collection,
              last.ts,
              last.id,
              desc ? start : end,
              size,
            )
          : first.iterate(request.projectId, request.collection, start, end, size)
      ) as IterableIterator<EventRow>;
      const page = readPage(rows);
      if (page.events.length === 0) return;
      sent += page.events.length;
      const tail = page.events[page.events.length - 1];
      last = { id: tail.id, ts: tail.timestamp };
      yield page.events;
      if (page.events.length < size && !page.cut) return;
      await yieldToLoop();
    }
  }

  /** Bodies as stored, written by JSON.stringify (insert, replaceBodies): see sqliteNdjsonPages. */
  scanNdjson(request: NdjsonScanRequest, signal?: AbortSignal): AsyncIterable<NdjsonPage> {
    return sqliteNdjsonPages(this.db.reader, request, signal);
  }

  /**
   * A point lookup (keen.id filters), in scan order and within the limit like
   * any scan: the engine reads extraction `latest` newest first and stops
   * early, so ids found in the wrong order would answer the oldest events.
   * The ids are capped by the query's list limits, so all of them are read
   * before the first page.
   */
  private *scanIds(request: ScanRequest): Iterable<StoredEvent[]> {
    const ids = [...new Set(request.ids)];
    const found: EventRow[] = [];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      const rows = this.db.reader
        .prepare(
          // INDEXED BY: without it the planner may walk the (project, collection, ts)
          // index, i.e. scan the whole collection, for what is a point lookup.
          `SELECT id, ts, body FROM events INDEXED BY events_by_id
           WHERE project = ? AND collection = ? AND id IN (${chunk.map(() => '?').join(',')})`,
        )
        .all(request.projectId, request.collection, ...chunk) as EventRow[];
      for (const r of rows) {
        if (request.start !== undefined && r.ts < request.start) continue;
        if (request.end !== undefined && r.ts >= request.end) continue;
        found.push(r);
      }
    }
    const sign = request.order === 'desc' ? -1 : 1;
    found.sort((a, b) => sign * (a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    const events = found.slice(0, request.limit ?? found.length).map(toStored);
    for (let i = 0; i < events.length; i += PAGE_SIZE) yield events.slice(i, i + PAGE_SIZE);
  }

  async deleteByIds(
    projectId: string,
    collection: string,
    ids: string[],
  ): Promise<CollectionEvent[]> {
    const deleted: CollectionEvent[] = [];
    const select = this.db.writer.prepare(
      'SELECT id, ts, body FROM events INDEXED BY events_by_id WHERE project = ? AND collection = ? AND id = ?',
    );
    const remove = this.db.writer.prepare('DELETE FROM events WHERE project = ? AND id = ?');
    const work = () => {
      for (const id of ids) {
        const row = select.get(projectId, collection, id) as EventRow | undefined;
        if (!row) continue;
        remove.run(projectId, id);
        deleted.push({ ...toStored(row), collection });
      }
    };
    await this.db.write(work);
    return deleted;
  }

  /**
   * The compare-and-set is on the stored JSON text: bodies are written with
   * JSON.stringify and stringifying the parsed body gives the same text back.
   */
  async replaceBodies(
    projectId: string,
    collection: string,
    replacements: BodyReplacement[],
  ): Promise<string[]> {
    const replaced: string[] = [];
    const update = this.db.writer.prepare(
      'UPDATE events SET body = ? WHERE project = ? AND id = ? AND collection = ? AND body = ?',
    );
    const work = () => {
      for (const r of replacements) {
        const expected = JSON.stringify(r.expected);
        const info = update.run(JSON.stringify(r.body), projectId, r.id, collection, expected);
        if (info.changes === 1) replaced.push(r.id);
      }
    };
    // Inside a caller's transaction (with the counter updates) the rows join it.
    await this.db.write(work);
    return replaced;
  }

  async dropCollection(projectId: string, collection: string): Promise<number> {
    return this.db.write(
      () =>
        this.db.writer
          .prepare('DELETE FROM events WHERE project = ? AND collection = ?')
          .run(projectId, collection).changes,
    );
  }

  async countCollection(projectId: string, collection: string): Promise<number> {
    const row = this.db.reader
      .prepare('SELECT count(*) AS n FROM events WHERE project = ? AND collection = ?')
      .get(projectId, collection) as { n: number };
    return row.n;
  }

  /** One indexed row read through the reader connection (synchronous: it cannot hang). */
  async ping(): Promise<void> {
    this.db.reader.prepare('SELECT 1 FROM events LIMIT 1').get();
  }

  async close(): Promise<void> {
    // The shared SqliteDatabase is closed by its owner.
  }
}
