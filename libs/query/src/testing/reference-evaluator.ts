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
import { RE2JS } from 're2js';
import { Filter } from '../filters/filter.types';
import type { MetricSpec, OrderBy, Query, QueryResponse } from '../query.types';
import type { Timeframe } from '../timeframe/timeframe';

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

function lookup(obj: JsonObject, path: string): JsonValue | undefined {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur as JsonValue;
}

// ---- filters ---------------------------------------------------------------

function passes(f: Filter, event: JsonObject): boolean {
  if (f.operator === 'or') return (f.operands ?? []).some((o) => passes(o, event));
  const actual = lookup(event, f.property_name);
  const want = f.property_value === undefined ? null : f.property_value;
  if (f.operator === 'exists') return (actual !== undefined) === (want === true);
  if (actual === undefined) return f.operator === 'ne' || f.operator === 'not_contains';
  switch (f.operator) {
    case 'eq':
      return refEquals(actual, want);
    case 'ne':
      return !refEquals(actual, want);
    case 'in':
      return (want as JsonValue[]).some((w) => refEquals(actual, w));
    case 'lt':
      return anyOrdered(actual, want, (c) => c < 0);
    case 'lte':
      return anyOrdered(actual, want, (c) => c <= 0);
    case 'gt':
      return anyOrdered(actual, want, (c) => c > 0);
    case 'gte':
      return anyOrdered(actual, want, (c) => c >= 0);
    case 'contains':
      return refContains(actual, want);
    case 'not_contains':
      return !refContains(actual, want);
    case 'regex': {
      const re = RE2JS.compile(want as string);
      const strings = Array.isArray(actual) ? actual : [actual];
      return strings.some((s) => typeof s === 'string' && re.test(s));
    }
    case 'within': {
      const spec = want as { coordinates: number[]; max_distance_miles: number };
      if (!Array.isArray(actual) || actual.length < 2) return false;
      if (typeof actual[0] !== 'number' || typeof actual[1] !== 'number') return false;
      return (
        miles(spec.coordinates[0], spec.coordinates[1], actual[0], actual[1]) <=
        spec.max_distance_miles
      );
    }
  }
  return false;
}

function refEquals(actual: JsonValue, want: JsonValue): boolean {
  if (Array.isArray(actual)) {
    if (sameJson(actual, want)) return true;
    return actual.some((el) => !Array.isArray(el) && scalarEquals(el, want));
  }
  return scalarEquals(actual, want);
}

function scalarEquals(a: JsonValue, w: JsonValue): boolean {
  if (typeof a === 'number') {
    if (typeof w === 'number') return a === w;
    if (typeof w === 'string' && asNumber(w) !== undefined) return a === asNumber(w);
    return false;
  }
  if (typeof a === 'string') {
    if (typeof w === 'string') {
      if (a === w) return true;
      const ta = asInstant(a);
      const tw = asInstant(w);
      return ta !== undefined && tw !== undefined && ta === tw;
    }
    if (typeof w === 'number') return asNumber(a) === w;
    return false;
  }
  if (typeof a === 'boolean') return a === w;
  if (a === null) return w === null;
  return sameJson(a, w);
}

function anyOrdered(actual: JsonValue, want: JsonValue, ok: (c: number) => boolean): boolean {
  const candidates = Array.isArray(actual) ? actual : [actual];
  return candidates.some((a) => {
    const c = order(a, want);
    return c !== undefined && ok(c);
  });
}

function order(a: JsonValue, w: JsonValue): number | undefined {
  if (typeof a === 'number') {
    if (typeof w === 'number') return a - w;
    if (typeof w === 'string' && asNumber(w) !== undefined) return a - (asNumber(w) as number);
    return undefined;
  }
  if (typeof a === 'string') {
    if (typeof w === 'string') {
      const ta = asInstant(a);
      const tw = asInstant(w);
      if (ta !== undefined && tw !== undefined) return ta - tw;
      return a === w ? 0 : a < w ? -1 : 1;
    }
    if (typeof w === 'number') {
      const n = asNumber(a);
      return n === undefined ? undefined : n - w;
    }
    return undefined;
  }
  if (typeof a === 'boolean' && typeof w === 'boolean') return (a ? 1 : 0) - (w ? 1 : 0);
  return undefined;
}

function refContains(actual: JsonValue, want: JsonValue): boolean {
  if (typeof actual === 'string') {
    if (typeof want === 'string') return actual.indexOf(want) >= 0;
    if (typeof want === 'number' || typeof want === 'boolean')
      return actual.indexOf(String(want)) >= 0;
    return false;
  }
  if (Array.isArray(actual)) return refEquals(actual, want);
  return false;
}

function asNumber(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = parseFloat(t);
  return isFinite(n) ? n : undefined;
}

/** ISO date or date-time; offset-less means UTC. Validated by a UTC round trip. */
function asInstant(s: string): number | undefined {
  const m =
    /^(\d\d\d\d)-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?(Z|z|[+-]\d\d(?::?\d\d)?)?$/.exec(
      s,
    );
  if (!m) return undefined;
  if (m[7] !== undefined && m[7].length > 9) return undefined;
  const frac = m[7] === undefined ? '000' : (m[7] + '000').substring(0, 3);
  const base = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}.${frac}Z`;
  const t = Date.parse(base);
  if (isNaN(t) || new Date(t).toISOString() !== base) return undefined;
  let offsetMinutes = 0;
  const z = m[8];
  if (z && z !== 'Z' && z !== 'z') {
    const digits = z.substring(1).replace(':', '');
    const hours = Number(digits.substring(0, 2));
    const minutes = digits.length > 2 ? Number(digits.substring(2)) : 0;
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (z[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return t - offsetMinutes * 60000;
}

function miles(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const r = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 3958.7613 * Math.asin(Math.min(1, Math.sqrt(a)));
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

// ---- JSON helpers ----------------------------------------------------------

function sortedJson(v: JsonValue | undefined): string {
  if (v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** JSON text tells 1 from "1", so it is a typed identity for values. */
const typedKey = (v: JsonValue): string => sortedJson(v);

const sameJson = (a: JsonValue, b: JsonValue): boolean => sortedJson(a) === sortedJson(b);

function kind(v: JsonValue | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  return Array.isArray(v) ? 4 : 5;
}

function totalOrder(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (ka === 0) return 0;
  if (ka === 4) {
    const x = a as JsonValue[];
    const y = b as JsonValue[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = totalOrder(x[i], y[i]);
      if (c) return c;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }
  const x = ka === 5 ? sortedJson(a) : (a as number | string | boolean);
  const y = ka === 5 ? sortedJson(b) : (b as number | string | boolean);
  return x === y ? 0 : x < y ? -1 : 1;
}

function project(event: JsonObject, names: string[]): JsonObject {
  const out: JsonObject = {};
  for (const name of names) {
    const v = lookup(event, name);
    if (v === undefined) continue;
    const keys = name.split('.');
    let node: JsonObject = out;
    keys.slice(0, -1).forEach((k) => {
      const existing = node[k];
      if (typeof existing !== 'object' || existing === null || Array.isArray(existing))
        node[k] = {};
      node = node[k] as JsonObject;
    });
    node[keys[keys.length - 1]] = v;
  }
  return out;
}
