/**
 * Query engine throughput on one core, and how query cost scales.
 * Run: `npm run bench -- query-engine` (see docs/benchmarks.md).
 *
 * Part 1: the evaluator over in-memory pages (no store), for count, a filtered
 * count, group_by and percentile, next to a hand-written loop computing the
 * same count (the floor for any JS evaluator).
 * Part 2: the same one-day query on SQLite collections of 30 and 90 days: cost
 * follows the timeframe, not the collection size. Each figure is next to
 * SQLite's own count(*) over the same range.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoredEvent } from '@app/events';
import { EventSource, executeQuery, parseQuery, ScanRequest } from '@app/query-engine';
import { SqliteDatabase, SqliteEventStore } from '@app/storage/sqlite';
import { benchEvent, DAY_MS as DAY } from './support/bench-events';
import { tempDir } from './support/processes';
import { fmt, medianMs, rate as perSecond } from './support/timing';

const EVENTS = Number(process.env.BENCH_EVENTS || 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
/** Pages over a plain array, no copying: isolates the evaluator's own cost. */
class ArraySource implements EventSource {
  constructor(private readonly pages: StoredEvent[][]) {}
  async *scan(_request: ScanRequest): AsyncIterable<StoredEvent[]> {
    yield* this.pages;
  }
}

const timeIt = (fn: () => Promise<unknown>) => medianMs(fn, RUNS);
const rate = (events: number, ms: number) => fmt(perSecond(events, ms));

async function evaluatorThroughput(lines: string[]): Promise<void> {
  const pages: StoredEvent[][] = [];
  for (let i = 0; i < EVENTS; i += 2000) {
    pages.push(Array.from({ length: Math.min(2000, EVENTS - i) }, (_, k) => benchEvent(i + k, EVENTS, 30 * DAY)));
  }
  const source = new ArraySource(pages);
  const baselineMs = await timeIt(async () => {
    let n = 0;
    for (const page of pages) for (const e of page) if ((e.event.country as string) === 'FR') n++;
    return n;
  });
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['count', 'count', { event_collection: 'c' }],
    ['count, filter country = FR', 'count', { event_collection: 'c', filters: [{ property_name: 'country', operator: 'eq', property_value: 'FR' }] }],
    ['sum price group_by country', 'sum', { event_collection: 'c', target_property: 'price', group_by: 'country' }],
    ['count group_by user.id (5000 groups)', 'count', { event_collection: 'c', group_by: 'user.id' }],
    ['percentile 90 of price', 'percentile', { event_collection: 'c', target_property: 'price', percentile: 90 }],
    ['count daily interval, group_by country', 'count', { event_collection: 'c', interval: 'daily', group_by: 'country', timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-31T00:00:00Z' } }],
  ];
  lines.push(`### Evaluator over ${EVENTS.toLocaleString('en-US')} in-memory events (one core, median of ${RUNS})`, '');
  lines.push('| query | ms | events/s | vs hand-written filtered count loop |', '|---|---|---|---|');
  lines.push(`| hand-written loop: count country = FR | ${baselineMs.toFixed(1)} | ${rate(EVENTS, baselineMs)} | 1.00 |`);
  for (const [name, analysis, params] of cases) {
    const query = parseQuery(analysis, params);
    const ms = await timeIt(() => executeQuery(query, source, { projectId: 'p', limits: { maxGroups: 100_000 } }));
    lines.push(`| ${name} | ${ms.toFixed(1)} | ${rate(EVENTS, ms)} | ${(ms / baselineMs).toFixed(2)}x time |`);
  }
}

async function scalingWithTimeframe(lines: string[]): Promise<void> {
  const dir = tempDir('tally-bench-query-');
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const store = new SqliteEventStore(db);
  const perDay = Math.round(EVENTS / 30 / 4);
  const load = async (project: string, days: number) => {
    const total = perDay * days;
    for (let i = 0; i < total; i += 10_000) {
      const chunk = Array.from({ length: Math.min(10_000, total - i) }, (_, k) => benchEvent(i + k, total, days * DAY));
      await store.insert(project, chunk);
    }
    return total;
  };
  const small = await load('p30', 30);
  const large = await load('p90', 90);
  const oneDay = { start: '2024-01-10T00:00:00Z', end: '2024-01-11T00:00:00Z' };
  const native = db.reader.prepare('SELECT count(*) AS n FROM events WHERE project = ? AND collection = ? AND ts >= ? AND ts < ?');
  const rows: Array<[string, string, { start: string; end: string }, string]> = [
    [`1 day of a 30-day collection (${small.toLocaleString('en-US')} events)`, 'p30', oneDay, 'count'],
    [`1 day of a 90-day collection (${large.toLocaleString('en-US')} events)`, 'p90', oneDay, 'count'],
    ['10 days of the 30-day collection', 'p30', { start: '2024-01-10T00:00:00Z', end: '2024-01-20T00:00:00Z' }, 'count'],
    ['1 day, sum price group_by country, 90-day collection', 'p90', oneDay, 'sum'],
  ];
  lines.push('', `### Cost follows the timeframe, not the collection size (SQLite store, ${perDay.toLocaleString('en-US')} events/day)`, '');
  lines.push('| query | scanned | tally ms | SQLite count(*) ms | tally/native |', '|---|---|---|---|---|');
  for (const [name, project, timeframe, analysis] of rows) {
    const params: Record<string, unknown> = { event_collection: 'c', timeframe, include_metadata: true };
    if (analysis === 'sum') Object.assign(params, { target_property: 'price', group_by: 'country' });
    const query = parseQuery(analysis, params);
    let scanned = 0;
    const ms = await timeIt(async () => {
      const res = await executeQuery(query, store, { projectId: project });
      scanned = (res.execution_metadata as { events_scanned: number }).events_scanned;
    });
    const nativeMs = await timeIt(async () => native.get(project, 'c', Date.parse(timeframe.start), Date.parse(timeframe.end)));
    lines.push(`| ${name} | ${scanned.toLocaleString('en-US')} | ${ms.toFixed(1)} | ${nativeMs.toFixed(2)} | ${(ms / nativeMs).toFixed(0)}x |`);
  }
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const lines: string[] = [];
  await evaluatorThroughput(lines);
  await scalingWithTimeframe(lines);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
