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
  for await (const e of extractionStream(query, source, run, max)) out.push(e);
  return out;
}

/**
 * The matching (projected) events as a stream. Without `latest` it holds one
 * page at a time; with `latest` it reads newest-first and stops after N
 * matches, so it holds at most N events.
 */
export async function* extractionStream(
  query: ExtractionQuery,
  source: EventSource,
  run: QueryRun,
  maxEvents = Infinity,
): AsyncGenerator<JsonObject> {
  const range = resolveTimeframe(query.timeframe, query.timezone, run.now);
  const pred = compileFilters(query.filters, run.filterOptions());
  const project = query.property_names ? compileProjection(query.property_names) : undefined;
  const { request } = buildScanRequest(run.projectId, query.event_collection, range, query.filters);
  const lo = range ? range.start : -Infinity;
  const hi = range ? range.end : Infinity;
  const matches = (ev: StoredEvent) => ev.timestamp >= lo && ev.timestamp < hi && pred(ev.event);

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
    for (let i = Math.max(0, sorted.length - n); i < sorted.length; i++) {
      const ev = sorted[i];
      yield project ? project(ev.event) : ev.event;
      // A consumer pulling in a loop runs on microtasks only: the slice also
      // covers its time (serialising, writing), so it is checked per event.
      await run.slice.breathe();
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
      for (let i = 0; i < kept.length; i++) {
        const ev = kept[i];
        yield project ? project(ev.event) : ev.event;
        await run.slice.breathe();
      }
      run.check();
    }
  } finally {
    await iterator.return?.();
  }
}
