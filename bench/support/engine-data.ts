/**
 * The engine benches' data and queries (engine.bench.ts in one process,
 * engine-rss.bench.ts through a real server): the bake-off's collection
 * stored through the standalone store's insert, and the issue's seven query
 * shapes over its whole 30 days.
 */
import { CollectionEvent } from '@app/events';
import { SqliteEventStore } from '@app/storage/sqlite';
import { BAKEOFF_END, BAKEOFF_START, BAKEOFF_ZONE, bakeoffEvent } from './bakeoff-events';
import { fmt, timed } from './timing';

export const ENGINE_SEED = Number(process.env.BENCH_SEED || 20240225);
export const ENGINE_COLLECTION = 'c';
/** Events per insert: the store's transaction, as the writer thread groups them. */
const CHUNK = 5_000;

export const ENGINE_TIMEFRAME = {
  start: new Date(BAKEOFF_START).toISOString(),
  end: new Date(BAKEOFF_END).toISOString(),
};

/** Stores `events` generated events in `project`; returns the wall time, ms. */
export function loadEngineEvents(
  store: SqliteEventStore,
  project: string,
  events: number,
): Promise<number> {
  return timed(async () => {
    for (let from = 0; from < events; from += CHUNK) {
      const chunk: CollectionEvent[] = [];
      for (let i = from; i < Math.min(events, from + CHUNK); i++) {
        const e = bakeoffEvent(ENGINE_SEED, i, events);
        chunk.push({
          collection: ENGINE_COLLECTION,
          id: e.id,
          timestamp: e.ts,
          event: e.body as never,
        });
      }
      await store.insert(project, chunk);
      if ((from / CHUNK) % 200 === 0) process.stdout.write(`  loaded ${fmt(from)}\r`);
    }
  });
}

export interface EngineQuery {
  name: string;
  analysis: string;
  /** The query's parameters besides event_collection and timeframe. */
  params: Record<string, unknown>;
}

/** The targets, in the order the benches print them. */
export const ENGINE_QUERIES: EngineQuery[] = [
  { name: 'count', analysis: 'count', params: {} },
  {
    name: 'count, eq filter',
    analysis: 'count',
    params: { filters: [{ property_name: 'user.country', operator: 'eq', property_value: 'US' }] },
  },
  {
    name: 'count, or of two filters',
    analysis: 'count',
    params: {
      filters: [
        {
          operator: 'or',
          operands: [
            { property_name: 'type', operator: 'eq', property_value: 'purchase' },
            { property_name: 'price', operator: 'gt', property_value: 900 },
          ],
        },
      ],
    },
  },
  {
    name: 'sum, group_by (12 groups)',
    analysis: 'sum',
    params: { target_property: 'price', group_by: 'user.country' },
  },
  {
    name: 'count_unique user.id',
    analysis: 'count_unique',
    params: { target_property: 'user.id' },
  },
  {
    name: 'percentile 90 of price',
    analysis: 'percentile',
    params: { target_property: 'price', percentile: 90 },
  },
  {
    name: `daily count in ${BAKEOFF_ZONE}`,
    analysis: 'count',
    params: { interval: 'daily', timezone: BAKEOFF_ZONE },
  },
];
