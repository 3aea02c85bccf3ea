import { JsonObject, StoredEvent } from '@app/events';
import { EventSource } from '../event-source.port';
import { compileFilters } from '../filters/compile-filters';
import { overLimit } from '../query-errors';
import { ExtractionQuery } from '../query.types';
import { resolveTimeframe } from '../timeframe/timeframe';
import { compileProjection } from '../values/property-path';
import { QueryRun } from './query-run';
import { buildScanRequest, scanPages } from './scan-pages';
import { slicedSort } from '../analyses/sliced-sort';
import { inSlices } from './time-slice';

/** Oldest first; equal timestamps by id, so every store gives one order. */
const byTime = (a: StoredEvent, b: StoredEvent): number =>
  a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Events per page of a `latest` answer (its events are all in memory already). */
const LATEST_PAGE = 1000;

/**
 * Synchronous extraction: the matching events, oldest first (with `latest`:
 * the N newest, still oldest first). Bounded by maxExtractionEvents because
 * the whole answer is built in memory; larger exports use streamExtraction.
 */
export async function runExtraction(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
): Promise<JsonObject[]> {
  const max = run.limits.maxExtractionEvents;
  if (query.latest !== undefined && query.latest > max) {
    throw overLimit(
      `latest must be at most ${max} (maxExtractionEvents); use the streaming export`,
    );
  }
  const out: JsonObject[] = [];
  for await (const page of extractionPages(query, source, run, max)) {
    for (const e of page) out.push(e);
  }
  return out;
}

type Projection = (event: JsonObject) => JsonObject;

/**
 * The matching (projected) events as a stream of non-empty pages, oldest
 * first. Pages, not single events: an export of millions of events would
 * otherwise spend most of its time resuming generators once per event.
 */
export function extractionPages(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
  maxEvents = Infinity,
): AsyncGenerator<JsonObject[]> {
  return shapedPages(query, source, run, maxEvents, (ev, project) =>
    project ? project(ev.event) : ev.event,
  );
}

/**
 * The same events as pages of JSON lines (the NDJSON export). An event the
 * store kept as JSON text, exported whole, is sent as stored: most of an
 * export's time was parsing bodies and serialising them again.
 */
export function extractionLines(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
): AsyncGenerator<string[]> {
  return shapedPages(query, source, run, Infinity, (ev, project) =>
    project ? JSON.stringify(project(ev.event)) : (ev.text ?? JSON.stringify(ev.event)),
  );
}

/** A piece of an NDJSON export: lines (each to be followed by '\n'), or complete lines as stored. */
export type NdjsonChunk = string[] | Uint8Array;

/**
 * The NDJSON export's pieces. An export of whole events (no filters,
 * property_names or latest) from a store that offers its stored text as
 * NDJSON (scanNdjson) is that text, page by page: no event is parsed,
 * serialised or even made an object or a string. Otherwise extractionLines.
 */
export async function* extractionNdjson(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
): AsyncGenerator<NdjsonChunk> {
  const whole = query.filters.length === 0 && !query.property_names && query.latest === undefined;
  if (!whole || !source.scanNdjson) {
    yield* extractionLines(query, source, run);
    return;
  }
  const range = resolveTimeframe(query.timeframe, query.timezone, run.now);
  run.check();
  const pages = source.scanNdjson(
    {
      projectId: run.projectId,
      collection: query.event_collection,
      ...(range && { start: range.start, end: range.end }),
    },
    run.signal,
  );
  for await (const page of pages) {
    run.eventsScanned += page.events;
    yield page.bytes;
    run.check();
  }
}

/** Each matching page shaped event by event, in the query's time slices. */
async function* shapedPages<T>(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
  maxEvents: number,
  shape: (ev: StoredEvent, project?: Projection) => T,
): AsyncGenerator<T[]> {
  const project = query.property_names ? compileProjection(query.property_names) : undefined;
  for await (const kept of matchedPages(query, source, run, maxEvents)) {
    const out: T[] = new Array(kept.length);
    await inSlices(run.slice, kept.length, (from, to) => {
      for (let i = from; i < to; i++) out[i] = shape(kept[i], project);
    });
    yield out;
  }
}

/**
 * The matching stored events in non-empty pages, oldest first. Without
 * `latest` it holds one store page at a time; with `latest` it reads
 * newest-first and stops after N matches, so it holds at most N events.
 */
async function* matchedPages(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
  maxEvents: number,
): AsyncGenerator<StoredEvent[]> {
  const range = resolveTimeframe(query.timeframe, query.timezone, run.now);
  const pred = compileFilters(query.filters, run.filterOptions());
  const { request } = buildScanRequest(run.projectId, query.event_collection, range, query.filters);
  const lo = range ? range.start : -Infinity;
  const hi = range ? range.end : Infinity;
  // Without filters the body is not read here: a store that parses lazily
  // (SQLite) then never parses an event exported as stored text.
  const filtered = query.filters.length > 0;
  const matches = (ev: StoredEvent) =>
    ev.timestamp >= lo && ev.timestamp < hi && (!filtered || pred(ev.event));

  if (query.latest !== undefined) {
    const n = query.latest;
    request.order = 'desc';
    // No store `limit`: it would count events before the engine's filters,
    // and stores may break timestamp ties differently. Reading newest-first
    // and stopping once older events cannot enter the top N is as cheap.
    const picked: StoredEvent[] = [];
    await scanPages(run, source, request, (page) => {
      for (const ev of page) {
        if (matches(ev)) picked.push(ev);
      }
      if (picked.length < n || page.length === 0) return true;
      return page[page.length - 1].timestamp >= picked[n - 1].timestamp;
    });
    // Up to maxExtractionEvents to order: sorted in slices.
    const sorted = await slicedSort(picked, byTime, run.slice);
    const newest = sorted.slice(Math.max(0, sorted.length - n));
    for (let from = 0; from < newest.length; from += LATEST_PAGE) {
      yield newest.slice(from, from + LATEST_PAGE);
      run.check();
    }
    return;
  }

  request.order = 'asc';
  let count = 0;
  const iterator = source.scan(request, run.signal)[Symbol.asyncIterator]();
  try {
    run.check();
    if (request.ids && request.ids.length === 0) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const page = next.value;
      run.eventsScanned += page.length;
      const kept: StoredEvent[] = [];
      await inSlices(run.slice, page.length, (from, to) => {
        for (let i = from; i < to; i++) if (matches(page[i])) kept.push(page[i]);
      });
      kept.sort(byTime);
      count += kept.length;
      if (count > maxEvents) {
        throw overLimit(
          `extraction matches more than the limit of ${maxEvents} events (maxExtractionEvents); ` +
            'use latest, narrow the timeframe, or use the streaming export',
        );
      }
      if (kept.length > 0) yield kept;
      run.check();
    }
  } finally {
    await iterator.return?.();
  }
}
