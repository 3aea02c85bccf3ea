import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { NdjsonPage, NdjsonScanRequest } from '@app/query-engine';
import { SqliteHandle } from './sqlite-database';

/** Events per page at most (as scan()). */
const PAGE_ROWS = 2000;
/**
 * Stored text per page at most, unless one event is larger: a page is held
 * in memory whole, first by SQLite, then as one Buffer until it is written.
 */
const PAGE_BYTES = 1_000_000;

interface PageSize {
  events: number;
  bytes: number;
}

type Key = [ts: number, id: string];

const rows = (range: string, columns: string): string =>
  `SELECT ${columns} FROM events WHERE project = ? AND collection = ? AND ${range}
   ORDER BY ts, id LIMIT ?`;

/**
 * The statements of one page: `range` is the first page's (`ts >= ? AND ts < ?`)
 * or the next pages' keyset bound (the row value seeks straight to the last
 * row read; see SqliteEventStore.scan).
 */
function pageStatements(reader: SqliteHandle, range: string) {
  return {
    // octet_length() reads the record header, not the text (SQLite skips
    // loading a value only its length is taken of).
    size: reader.prepare(
      `SELECT count(*) AS events, coalesce(sum(octet_length(body)), 0) AS bytes
       FROM (${rows(range, 'body')})`,
    ),
    // One value per page, built by SQLite: no row object and no string per
    // event cross into JavaScript (they were half an export's time, and most
    // of its garbage). A BLOB comes out as a Buffer of the stored UTF-8 as is,
    // which the socket takes without a conversion. The aggregate reads the
    // LIMIT subquery's rows in its ORDER BY order (the specs compare the order);
    // `group_concat(... ORDER BY ts, id)` would say so but sorts the bodies
    // again, at half the speed.
    text: reader.prepare(
      `SELECT CAST(group_concat(body, char(10)) || char(10) AS BLOB) AS bytes
       FROM (${rows(range, 'body')})`,
    ),
    // The page's last row, for the next page's bound: read on the index only.
    last: reader.prepare(`${rows(range, 'ts, id')} OFFSET ?`).raw(true),
  };
}

/**
 * An export of whole events (EventSource.scanNdjson) over the SQLite store:
 * keyset pages on (ts, id) like scan(), each read in one read transaction
 * (its size, its text and its last key see the same snapshot while the
 * writer goes on), at most PAGE_ROWS events and PAGE_BYTES of text each, the
 * loop given a turn between pages.
 */
export async function* sqliteNdjsonPages(
  reader: SqliteHandle,
  request: NdjsonScanRequest,
  signal?: AbortSignal,
): AsyncGenerator<NdjsonPage> {
  const first = pageStatements(reader, 'ts >= ? AND ts < ?');
  const next = pageStatements(reader, '(ts, id) > (?, ?) AND ts < ?');
  const start = request.start ?? Number.MIN_SAFE_INTEGER;
  const end = request.end ?? Number.MAX_SAFE_INTEGER;
  const { projectId, collection } = request;
  // Grows back after pages of large events made it smaller.
  let limit = PAGE_ROWS;
  let after: Key | undefined;
  const readPage = reader.transaction((): { page?: NdjsonPage; last?: Key } => {
    const statements = after ? next : first;
    const bound = after ? [after[0], after[1], end] : [start, end];
    let want = limit;
    let size = statements.size.get(projectId, collection, ...bound, want) as PageSize;
    // Fewer events until their text fits (one event may exceed the budget alone).
    while (size.bytes > PAGE_BYTES && size.events > 1) {
      want = Math.max(1, Math.floor((size.events * PAGE_BYTES) / size.bytes));
      size = statements.size.get(projectId, collection, ...bound, want) as PageSize;
    }
    if (size.events === 0) return {};
    limit = Math.min(PAGE_ROWS, want * 2);
    const { bytes } = statements.text.get(projectId, collection, ...bound, size.events) as {
      bytes: Buffer;
    };
    // Fewer than asked: the range is read to its end.
    const last =
      size.events < want
        ? undefined
        : (statements.last.get(projectId, collection, ...bound, 1, size.events - 1) as Key);
    return { page: { bytes, events: size.events }, last };
  });
  for (;;) {
    signal?.throwIfAborted();
    const { page, last } = readPage();
    if (!page) return;
    yield page;
    if (!last) return;
    after = last;
    await yieldToLoop();
  }
}
