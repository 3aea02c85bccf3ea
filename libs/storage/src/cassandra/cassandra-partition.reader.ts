import { Client, types } from 'cassandra-driver';
import { JsonObject, parseJsonText, StoredEvent, storedEventOfBody } from '@app/events';

/** Earliest and latest instants a CQL timestamp (and a JS Date) can hold. */
export const MIN_TIME = -8.64e15;
export const MAX_TIME = 8.64e15;

// The body alone: it carries the id and the timestamp (see scannedEvent).
const SELECT_ASC =
  'SELECT body FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts >= ? AND ts < ?';
const SELECT_DESC = `${SELECT_ASC} ORDER BY ts DESC, id DESC`;

export interface PartitionKey {
  projectId: string;
  collection: string;
  bucket: number;
}

/**
 * A row as the engine sees it. The body is decoded here, once, through the
 * one safe JSON parser (a stored `__proto__` key is refused, not merged).
 * Eagerly: a lazy getter with the text kept aside (as SQLite's rows carry)
 * made a scan's decoding ~3x slower per event (two closures and a property
 * definition per row), while every query but a plain count reads the body.
 */
export function toStoredEvent(row: types.Row): StoredEvent {
  return {
    id: row.id as string,
    timestamp: (row.ts as Date).getTime(),
    event: parseJsonText(row.body as string, 'A stored event body') as JsonObject,
  };
}

/**
 * A scanned row, which holds the body only: its `keen.id` and
 * `keen.timestamp` are the row's id and ts columns (storedEventOfBody says
 * why), so a scan does not ship those columns too. Selecting them made the
 * driver build and decode three cells a row instead of one: 0.65-0.78 of a
 * native read of the bodies, against ~0.9 without them.
 */
export function scannedEvent(row: types.Row, key: PartitionKey): StoredEvent {
  const event = parseJsonText(row.body as string, 'A stored event body') as JsonObject;
  const stored = storedEventOfBody(event);
  if (stored) return stored;
  throw new Error(
    `A stored event of ${key.projectId}/${key.collection} (bucket ${new Date(key.bucket).toISOString()}) ` +
      'has no string keen.id or no ISO-8601 keen.timestamp: the events table holds a row Tally did not write.',
  );
}

/** A time slice [start, end) of one partition, read in one paged query. */
export interface Slice {
  key: PartitionKey;
  start: number;
  end: number;
  desc: boolean;
}

/**
 * Reads one slice of an event partition page by page (driver paging state,
 * `fetchSize` rows a round trip), with at most `ahead` pages fetched (or on
 * the wire) beyond what the consumer took: the partition is never held in
 * memory, and while the engine evaluates a page the next one is already
 * coming. A page's request needs the previous page's paging state, so one
 * slice has at most one request in flight; parallelism comes from reading
 * several slices at once (readPartitions).
 */
export class PartitionReader {
  /** Pages fetched and not yet taken, oldest first. */
  private readonly pages: types.Row[][] = [];
  private pageState: string | undefined;
  private inFlight = false;
  private exhausted = false;
  private closed = false;
  private error: { cause: unknown } | undefined;
  /** Rows taken so far. */
  rows = 0;
  /** Called whenever a page arrives or a fetch fails. */
  onChange: () => void = () => undefined;

  constructor(
    private readonly client: Client,
    readonly slice: Slice,
    private readonly fetchSize: number,
    private readonly ahead: number,
  ) {}

  /** True once every page was taken. */
  get finished(): boolean {
    return this.exhausted && !this.inFlight && this.pages.length === 0;
  }

  /** Fetches the next page if fewer than `ahead` are fetched or on the wire. */
  pump(): void {
    if (this.inFlight || this.exhausted || this.closed || this.error) return;
    if (this.pages.length >= this.ahead) return;
    this.inFlight = true;
    this.fetch(this.pageState).then(
      (rs) => {
        this.inFlight = false;
        if (this.closed) return;
        this.pages.push(rs.rows);
        this.pageState = rs.pageState ?? undefined;
        if (!this.pageState) this.exhausted = true;
        this.pump();
        this.onChange();
      },
      (cause: unknown) => {
        this.inFlight = false;
        this.error = { cause };
        this.onChange();
      },
    );
  }

  /**
   * The next fetched page, if one is there (the next fetch starts at once);
   * throws the failure of a fetch.
   */
  take(): StoredEvent[] | undefined {
    if (this.error) throw this.error.cause;
    const rows = this.pages.shift();
    if (rows === undefined) return undefined;
    this.pump();
    this.rows += rows.length;
    const key = this.slice.key;
    return rows.map((row) => scannedEvent(row, key));
  }

  /** No more fetches; a page on the wire is dropped when it arrives. */
  close(): void {
    this.closed = true;
    this.pages.length = 0;
  }

  private fetch(pageState: string | undefined): Promise<types.ResultSet> {
    const { key, start, end, desc } = this.slice;
    return this.client.execute(
      desc ? SELECT_DESC : SELECT_ASC,
      [key.projectId, key.collection, new Date(key.bucket), new Date(start), new Date(end)],
      { prepare: true, fetchSize: this.fetchSize, pageState, autoPage: false },
    );
  }
}

/** A partition to read: its key and the part of the timeframe it holds. */
export interface PartitionRange {
  key: PartitionKey;
  start: number;
  end: number;
}

export interface ReadOptions {
  /** Slices read at once. */
  concurrency: number;
  /** Pages each slice reads ahead of the consumer. */
  ahead: number;
  /** Rows per page. */
  fetchSize: number;
  desc: boolean;
}

// The first slice of a scan covers this part of its partition: nothing is
// known of the density yet.
const FIRST_SLICE_PARTS = 8;
// Slices narrower than this are not cut (a burst of events in one second is
// read in pages, like a small partition).
const MIN_SLICE_MS = 1000;
// How far under `ahead` full pages a slice is aimed (see nextWidth).
const SLICE_MARGIN_PAGES = 0.25;

/**
 * Cuts the partitions of a scan, in scan order, into consecutive time
 * slices of about `ahead` pages each, from the density (rows per ms) of the
 * slices read so far: a slice that small is read whole while it waits for its
 * turn, so up to `concurrency` slices are on the wire at once even though
 * pages come out in time order. Slices split on timestamps, so rows with one
 * timestamp stay in one slice and the order (ts, id) is the partition's.
 * A wrong guess costs speed only: a denser slice is paged in turn, an
 * emptier one is a short round trip.
 */
class SlicePlanner {
  private partition = 0;
  /** Where the next slice of the current partition starts (asc) or ends (desc). */
  private cursor: number | undefined;
  private width: number | undefined;
  private seenRows = 0;
  private seenMs = 0;

  constructor(
    private readonly partitions: PartitionRange[],
    private readonly options: ReadOptions,
  ) {}

  /** The next slice and whether it opens its partition; undefined when all are planned. */
  next(): { slice: Slice; opens: number | undefined } | undefined {
    const p = this.partitions[this.partition];
    if (p === undefined) return undefined;
    const desc = this.options.desc;
    const opens = this.cursor === undefined ? this.partition : undefined;
    const from = this.cursor ?? (desc ? p.end : p.start);
    const left = desc ? from - p.start : p.end - from;
    const width = Math.max(MIN_SLICE_MS, this.nextWidth(p));
    const take = width >= left ? left : width;
    const to = desc ? from - take : from + take;
    if (take === left) {
      this.partition++;
      this.cursor = undefined;
    } else this.cursor = to;
    const slice = desc
      ? { key: p.key, start: to, end: from, desc }
      : { key: p.key, start: from, end: to, desc };
    return { slice, opens };
  }

  /** What a finished slice found: `rows` over its span. */
  record(slice: Slice, rows: number): void {
    this.seenRows += rows;
    this.seenMs += slice.end - slice.start;
  }

  private nextWidth(p: PartitionRange): number {
    // A quarter of a page short of `ahead` pages: a slice holding exactly
    // `ahead` full pages costs one more round trip, since Cassandra hands a
    // full page its paging state and only the next, empty page says the end.
    // Aimed at `ahead` pages, a scan of evenly spread events made 1,495
    // requests for 1,000,000 rows, 471 of them empty.
    const target = (this.options.ahead - SLICE_MARGIN_PAGES) * this.options.fetchSize;
    if (this.seenRows > 0) this.width = (target * this.seenMs) / this.seenRows;
    else if (this.width !== undefined && this.seenMs > 0) this.width *= 4;
    else this.width ??= Math.ceil((p.end - p.start) / FIRST_SLICE_PARTS);
    return Math.ceil(this.width);
  }
}

/**
 * Pages of several partitions in scan order (partition after partition,
 * each in its clustering order: the order a single paged read would give),
 * read as time slices, up to `concurrency` slices at once (at most one request
 * on the wire each) and each at most `ahead` pages beyond what was taken:
 * memory stays bounded by about concurrency × (ahead + 1) pages whatever the
 * timeframe, and a consumer that stops pulling stops the reads
 * (backpressure). Slices of about `ahead` pages are read whole while they
 * wait for their turn, so the slices behind the one being yielded keep their
 * requests on the wire.
 */
export async function* readPartitions(
  client: Client,
  partitions: PartitionRange[],
  options: ReadOptions,
  signal?: AbortSignal,
  onStart?: (index: number) => void,
): AsyncIterable<StoredEvent[]> {
  const planner = new SlicePlanner(partitions, options);
  const active: PartitionReader[] = [];
  let wake: (() => void) | undefined;
  const changed = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  let planned = true;
  signal?.addEventListener('abort', changed);
  try {
    for (;;) {
      signal?.throwIfAborted();
      while (active.length > 0 && active[0].finished) {
        const done = active.shift()!;
        planner.record(done.slice, done.rows);
      }
      while (planned && active.length < options.concurrency) {
        const next = planner.next();
        if (next === undefined) planned = false;
        else {
          if (next.opens !== undefined) onStart?.(next.opens);
          const reader = new PartitionReader(client, next.slice, options.fetchSize, options.ahead);
          reader.onChange = changed;
          reader.pump();
          active.push(reader);
        }
      }
      if (active.length === 0) return;
      const page = active[0].take();
      if (page !== undefined) {
        if (page.length > 0) yield page;
      } else if (!active[0].finished) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    signal?.removeEventListener('abort', changed);
    for (const reader of active) reader.close();
  }
}
