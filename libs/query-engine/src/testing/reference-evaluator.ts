/**
 * A deliberately naive, independently written evaluator of the documented
 * query semantics (docs/query-language.md), used as the oracle in property
 * tests: the engine over a store must equal this over a plain array. It
 * shares no code with the engine beyond types and the query parser's output;
 * it favours obviousness over speed (re-splits paths, re-parses dates, sorts
 * and filters whole arrays). Do not "optimise" it into the engine's shape.
 */
import { JsonObject, JsonValue, StoredEvent } from '@app/events';
import { DateTime } from 'luxon';
import { Filter } from '../filters/filter.types';
import type { MetricSpec, OrderBy, Query, QueryResponse } from '../query.types';
import type { Timeframe } from '../timeframe/timeframe';
import { passes } from './reference-filters';
import { lookup, project, sameJson, totalOrder, typedKey } from './reference-json';

export type CollectionData = Record<string, StoredEvent[]>;

export class ReferenceLimitError extends Error {}

const MAX_BUCKETS = 2500;

export function referenceEvaluate(query: Query, data: CollectionData, now: Date): QueryResponse {
  if (query.analysis_type === 'funnel') return refFunnel(query, data, now);
  const events = matching(
    data[query.event_collection] ?? [],
    query.filters,
    query.timeframe,
    query.timezone,
    now,
  );
  if (query.analysis_type === 'extraction') {
    let picked = events;
    if (query.latest !== undefined)
      picked = picked.slice(Math.max(0, picked.length - query.latest));
    const names = query.property_names;
    return { result: picked.map((e) => (names ? project(e.event, names) : e.event)) };
  }
  const metrics: [string | null, MetricSpec][] =
    query.analysis_type === 'multi_analysis' ? Object.entries(query.analyses) : [[null, query]];
  const valueFor = (evs: StoredEvent[]): JsonValue => {
    if (metrics[0][0] === null) return metricValue(metrics[0][1], evs);
    const out: JsonObject = {};
    for (const [label, spec] of metrics) out[label as string] = metricValue(spec, evs);
    return out;
  };
  const groupBy = query.group_by;
  const groups = groupBy ? distinctGroups(events, groupBy) : [];
  const rowsFor = (evs: StoredEvent[]): JsonObject[] => {
    const rows = groups.map((g) => {
      const members = evs.filter((e) => sameJson(groupValues(e, groupBy!), g));
      const row: JsonObject = {};
      groupBy!.forEach((p, i) => (row[p] = g[i]));
      const v = valueFor(members);
      if (metrics[0][0] === null) row.result = v;
      else Object.assign(row, v);
      return row;
    });
    return orderAndLimit(rows, query.order_by, query.limit);
  };

  if (!query.interval) return { result: groupBy ? rowsFor(events) : valueFor(events) };

  const range = refRange(query.timeframe, query.timezone, now)!;
  const edges: number[] = [range.start];
  const first = DateTime.fromMillis(range.start, { zone: query.timezone });
  const plural = (query.interval.unit + 's') as 'days';
  while (edges[edges.length - 1] < range.end) {
    if (edges.length > MAX_BUCKETS) throw new ReferenceLimitError('too many buckets');
    const k = edges.length;
    const next = first.plus({ [plural]: k * query.interval.count }).toMillis();
    edges.push(next < range.end ? next : range.end);
  }
  const result: JsonObject[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const inBucket = events.filter((e) => e.timestamp >= edges[i] && e.timestamp < edges[i + 1]);
    result.push({
      value: groupBy ? rowsFor(inBucket) : valueFor(inBucket),
      timeframe: {
        start: new Date(edges[i]).toISOString(),
        end: new Date(edges[i + 1]).toISOString(),
      },
    });
  }
  return { result };
}

// ---- selection -------------------------------------------------------------

function matching(
  events: StoredEvent[],
  filters: Filter[],
  timeframe: Timeframe | undefined,
  timezone: string,
  now: Date,
): StoredEvent[] {
  const range = refRange(timeframe, timezone, now);
  return [...events]
    .sort((a, b) =>
      a.timestamp !== b.timestamp
        ? a.timestamp - b.timestamp
        : a.id < b.id
          ? -1
          : a.id > b.id
            ? 1
            : 0,
    )
    .filter((e) => !range || (e.timestamp >= range.start && e.timestamp < range.end))
    .filter((e) => filters.every((f) => passes(f, e.event)));
}

function refRange(
  tf: Timeframe | undefined,
  timezone: string,
  now: Date,
): { start: number; end: number } | undefined {
  if (!tf) return undefined;
  if (tf.kind === 'absolute') return { start: tf.start, end: tf.end };
  const local = DateTime.fromJSDate(now, { zone: timezone });
  let current: DateTime;
  if (tf.unit === 'week') {
    // Sunday-based weeks: luxon weekday is 1 (Mon) … 7 (Sun).
    const back = local.weekday === 7 ? 0 : local.weekday;
    current = local.startOf('day').minus({ days: back });
  } else {
    current = local.startOf(tf.unit);
  }
  const plural = (tf.unit + 's') as 'days';
  if (tf.edge === 'this') {
    return {
      start: current.minus({ [plural]: tf.count - 1 }).toMillis(),
      end: current.plus({ [plural]: 1 }).toMillis(),
    };
  }
  return { start: current.minus({ [plural]: tf.count }).toMillis(), end: current.toMillis() };
}

// ---- metrics -----------------------------------------------------------------

function metricValue(spec: MetricSpec, events: StoredEvent[]): JsonValue {
  if (spec.analysis_type === 'count') return events.length;
  const raw = events.map((e) => lookup(e.event, spec.target_property as string));
  const nums = raw.filter((v): v is number => typeof v === 'number');
  const present = raw.filter((v): v is JsonValue => v !== undefined && v !== null);
  switch (spec.analysis_type) {
    case 'sum':
      return nums.reduce((s, v) => s + v, 0);
    case 'average':
      return nums.length ? nums.reduce((s, v) => s + v, 0) / nums.length : null;
    case 'minimum':
      return nums.length ? nums.reduce((m, v) => (v < m ? v : m)) : null;
    case 'maximum':
      return nums.length ? nums.reduce((m, v) => (v > m ? v : m)) : null;
    case 'median':
      return pct(nums, 50);
    case 'percentile':
      return pct(nums, spec.percentile as number);
    case 'standard_deviation': {
      if (!nums.length) return null;
      const mean = nums.reduce((s, v) => s + v, 0) / nums.length;
      return Math.sqrt(nums.reduce((s, v) => s + (v - mean) ** 2, 0) / nums.length);
    }
    case 'count_unique':
      return new Set(present.map(typedKey)).size;
    case 'select_unique': {
      const byKey = new Map<string, JsonValue>();
      for (const v of present) if (!byKey.has(typedKey(v))) byKey.set(typedKey(v), v);
      return [...byKey.values()].sort(totalOrder);
    }
  }
  return null;
}

function pct(nums: number[], p: number): number | null {
  if (!nums.length) return null;
  const sorted = [...nums].sort((a, b) => a - b);
  const pos = (p / 100) * (sorted.length - 1);
  const below = Math.floor(pos);
  const above = Math.ceil(pos);
  return below === above
    ? sorted[below]
    : sorted[below] + (sorted[above] - sorted[below]) * (pos - below);
}

// ---- grouping ----------------------------------------------------------------

function groupValues(e: StoredEvent, props: string[]): JsonValue[] {
  return props.map((p) => {
    const v = lookup(e.event, p);
    return v === undefined ? null : v;
  });
}

function distinctGroups(events: StoredEvent[], props: string[]): JsonValue[][] {
  const byKey = new Map<string, JsonValue[]>();
  for (const e of events) {
    const g = groupValues(e, props);
    byKey.set(typedKey(g), g);
  }
  return [...byKey.values()].sort((a, b) => {
    for (let i = 0; i < a.length; i++) {
      const c = totalOrder(a[i], b[i]);
      if (c) return c;
    }
    return 0;
  });
}

function orderAndLimit(
  rows: JsonObject[],
  orderBy: OrderBy[] | undefined,
  limit: number | undefined,
): JsonObject[] {
  let out = rows;
  if (orderBy?.length) {
    out = [...rows].sort((a, b) => {
      for (const o of orderBy) {
        const c = totalOrder(a[o.property_name], b[o.property_name]);
        if (c) return o.direction === 'DESC' ? -c : c;
      }
      return 0;
    });
  }
  return limit === undefined ? out : out.slice(0, limit);
}

// ---- funnel ------------------------------------------------------------------

function refFunnel(
  query: Extract<Query, { analysis_type: 'funnel' }>,
  data: CollectionData,
  now: Date,
): QueryResponse {
  const counts: number[] = [];
  const actorLists: (JsonValue[] | null)[] = [];
  let previous: Map<string, JsonValue> | null = null;
  for (const step of query.steps) {
    const did = new Map<string, JsonValue>();
    for (const e of matching(
      data[step.event_collection] ?? [],
      step.filters,
      step.timeframe,
      step.timezone,
      now,
    )) {
      const a = lookup(e.event, step.actor_property);
      if (a !== undefined && a !== null) did.set(typedKey(a), a);
    }
    const mine = new Map<string, JsonValue>();
    if (step.inverted) {
      for (const [k, v] of previous ?? []) if (!did.has(k)) mine.set(k, v);
    } else {
      for (const [k, v] of did) if (!previous || previous.has(k)) mine.set(k, v);
    }
    counts.push(mine.size);
    actorLists.push(step.with_actors ? [...mine.values()].sort(totalOrder) : null);
    if (!step.optional) previous = mine;
  }
  const response: QueryResponse = {
    result: counts,
    steps: query.steps.map((s) => ({
      event_collection: s.event_collection,
      actor_property: s.actor_property,
      filters: s.filters as unknown as JsonValue,
      timeframe: s.echo.timeframe,
      timezone: s.echo.timezone,
      optional: s.optional,
      inverted: s.inverted,
      with_actors: s.with_actors,
    })),
  };
  if (query.steps.some((s) => s.with_actors)) response.actors = actorLists;
  return response;
}
