import type { Document } from 'mongodb';
import { TallyError } from '@app/events';
import {
  bucketEdges,
  LabelledMetric,
  MetricSpec,
  MultiAnalysisQuery,
  MetricQuery,
  Query,
  QueryLimits,
  resolveTimeframe,
  TimeRange,
} from '@app/query-engine';
import { Declined, Expr, isArray, isNumber, isStructured, valueOf } from './mongo-expressions';
import { Guards, SchemaView } from './mongo-guards';
import { PropertyType } from '@app/schema';
import { compileMongoFilters } from './mongo-filter.compile';

/** How one analysis's value is read from a result document. */
export type MongoReader =
  | { kind: 'value'; field: string; nullAs?: number }
  /** select_unique: a list of distinct values (null dropped, sorted when shaped). */
  | { kind: 'unique'; field: string };

export interface MongoCompiledMetrics {
  query: MetricQuery | MultiAnalysisQuery;
  pipeline: Document[];
  metrics: LabelledMetric[];
  /** Bucket edges (the engine's own), when the query has an interval over a timeframe. */
  edges?: number[];
  /** group_by values are `_id.g0`, `_id.g1`, …; the bucket is `_id.b`. */
  groupCount: number;
  /** One group_by property and no interval: its value is `_id` itself. */
  bareKey: boolean;
  guards: Guards;
  second?: SecondPass;
  readers: MongoReader[];
  /**
   * With include_metadata: the `$match` of the events the query reads (its
   * collection and timeframe, on the `(p, c, t)` index), counted for
   * execution_metadata's `events_scanned`.
   */
  scanned?: Document;
}

/**
 * Analyses that need the count of numbers before they can be computed exactly
 * (no group_by, no interval): the first pipeline counts (`n`, and `s` the sum),
 * a second one computes the value from it.
 */
export interface SecondPass {
  kind: 'percentile' | 'standard_deviation';
  /** 0–100 (median: 50). */
  percentile?: number;
  /** The first pipeline's `$match` stage, which the second repeats. */
  match: Document;
  /** The target's value where it is a number, else null. */
  value: Expr;
}

export type MongoCompilation = { compiled: MongoCompiledMetrics } | { declined: string };

export interface MongoCompileContext {
  projectId: string;
  now: number;
  limits: QueryLimits;
  /** The collection's schema counters and pending markers, read before the pipeline runs (see Guards). */
  schema?: SchemaView;
}

/** Field of the result documents counting unsure events (see mongo-filter.compile.ts). */
export const UNSURE = 'u';

/**
 * A parsed query → one aggregation pipeline over the events collection:
 * `$match` on the `(p, c, t)` index keys plus the filters, then `$group` by
 * (interval bucket, group_by values) with the analyses' accumulators, or the
 * reason it cannot (the TypeScript engine then answers). Timeframes and
 * bucket edges come from the engine's own functions, so DST and month lengths
 * are decided once; the pipeline only maps `t` to its bucket. No `$sort`: no
 * analysis here needs an order, and the shaping orders groups as the engine
 * does.
 *
 * Compiled: count, sum, average, minimum, maximum, count_unique (alone) and
 * select_unique, with group_by (several), interval and multi_analysis; median,
 * percentile and standard_deviation alone without group_by or interval, in
 * two passes (compileTwoPass). Declined: those three grouped, funnels,
 * extraction (the event scan already streams it).
 */
export function compileMongoQuery(query: Query, ctx: MongoCompileContext): MongoCompilation {
  try {
    return { compiled: withScanned(compile(query, ctx), ctx) };
  } catch (e) {
    if (e instanceof Declined) return { declined: e.message };
    if (e instanceof TallyError) return { declined: `the engine decides: ${e.message}` };
    return { declined: `compiler fault: ${(e as Error).message}` };
  }
}

/** Adds the count behind execution_metadata when the query asks for it. */
function withScanned(
  compiled: MongoCompiledMetrics,
  ctx: MongoCompileContext,
): MongoCompiledMetrics {
  const { query } = compiled;
  if (!query.include_metadata) return compiled;
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  return { ...compiled, scanned: collectionMatch(query, range, ctx) };
}

/**
 * The collection's events in the timeframe, on the `(p, c, t)` index: what a
 * query reads before its filters.
 */
function collectionMatch(
  query: MetricQuery | MultiAnalysisQuery,
  range: TimeRange | undefined,
  ctx: MongoCompileContext,
): Document {
  const match: Document = { p: ctx.projectId, c: query.event_collection };
  if (range) match.t = { $gte: new Date(range.start), $lt: new Date(range.end) };
  return match;
}

function compile(query: Query, ctx: MongoCompileContext): MongoCompiledMetrics {
  if (query.analysis_type === 'funnel') throw new Declined('funnel is not compiled');
  if (query.analysis_type === 'extraction') throw new Declined('extraction reads the event scan');
  const metrics: LabelledMetric[] =
    query.analysis_type === 'multi_analysis'
      ? Object.entries(query.analyses).map(([label, spec]) => ({ label, spec }))
      : [{ label: null, spec: query }];
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  const edges =
    query.interval && range
      ? bucketEdges(range, query.interval, query.timezone, ctx.limits.maxIntervalBuckets)
      : undefined;

  const guards = new Guards(ctx.schema);
  const filters = compileMongoFilters(query.filters, ctx.limits, guards);
  const match = collectionMatch(query, range, ctx);
  if (Object.keys(filters).length > 0) match.$and = [filters];

  // Group keys. Missing and null form one group, as in the engine; a bare
  // field path does that by itself (and is twice as fast on the test server
  // as a key document), a key document needs $ifNull.
  const groupBy = query.group_by ?? [];
  const keyParts: [string, Expr][] = [];
  if (edges) keyParts.push(['b', bucketExpr(edges)]);
  groupBy.forEach((path, i) => {
    const v = valueOf(path);
    keyParts.push([`g${i}`, v]);
    structured(guards, path);
  });
  const keyOf = (extra: [string, Expr][] = []): Expr => {
    const parts = [...keyParts, ...extra];
    if (parts.length === 0) return null;
    if (parts.length === 1 && parts[0][0] !== 'b') return parts[0][1];
    return Object.fromEntries(parts.map(([k, v]) => [k, k === 'b' ? v : { $ifNull: [v, null] }]));
  };
  // Where the key is a bare value, results carry it as `_id` itself.
  const bareKey = keyParts.length === 1 && keyParts[0][0] !== 'b';

  const ranked = metrics.find((m) => SECOND_PASS.has(m.spec.analysis_type));
  if (ranked)
    return compileTwoPass(query, ranked.spec, match, metrics, guards, keyParts.length > 0, ctx);

  const distinct = metrics.find((m) => m.spec.analysis_type === 'count_unique');
  const pipeline: Document[] = [{ $match: match }];
  const readers: MongoReader[] = [];
  if (distinct) {
    if (metrics.length > 1)
      throw new Declined('count_unique beside other analyses is not compiled');
    // Distinct values per cell: group by (cell, value), then count per cell.
    const path = target(distinct.spec);
    structured(guards, path);
    const flag = guards.flag();
    const cell: Document = {};
    keyParts.forEach(([k]) => (cell[k] = `$_id.${k}`));
    pipeline.push(
      {
        $group: {
          _id: keyOf([['v', valueOf(path)]]),
          ...(flag === undefined ? {} : { [UNSURE]: { $sum: flag } }),
        },
      },
      {
        $group: {
          _id: keyParts.length === 0 ? null : cell,
          m0: {
            $sum: { $cond: [{ $eq: [keyParts.length === 0 ? '$_id' : '$_id.v', null] }, 0, 1] },
          },
          ...(flag === undefined ? {} : { [UNSURE]: { $sum: `$${UNSURE}` } }),
        },
      },
    );
    readers.push({ kind: 'value', field: 'm0' });
  } else {
    const group: Document = {};
    metrics.forEach((m, i) => {
      const { accumulator, reader } = metric(m.spec, `m${i}`, guards);
      group[`m${i}`] = accumulator;
      readers.push(reader);
    });
    const flag = guards.flag();
    if (flag !== undefined) group[UNSURE] = { $sum: flag };
    pipeline.push({ $group: { _id: keyOf(), ...group } });
  }
  // More cells than the engine allows: it reports the limit, so one more is enough to know.
  pipeline.push({ $limit: ctx.limits.maxResultCells + 1 });
  return {
    query,
    pipeline,
    metrics,
    edges,
    groupCount: groupBy.length,
    bareKey: bareKey && !distinct,
    readers,
    guards,
  };
}

const SECOND_PASS = new Set(['median', 'percentile', 'standard_deviation']);

/**
 * median, percentile and standard_deviation of one cell (no group_by, no
 * interval, alone): the first pipeline counts the target's numbers (and sums
 * them), the second ranks or spreads them (MongoCompiledQueries.answer).
 * Keen's percentile interpolates between closest ranks, which MongoDB 7's
 * $percentile (approximate only) does not; sorting and skipping to the rank is
 * exact. The population standard deviation is sqrt(Σ(x − mean)² / n) with the
 * mean of the first pass: two passes keep the precision one-pass sums of
 * squares lose.
 */
function compileTwoPass(
  query: MetricQuery | MultiAnalysisQuery,
  spec: MetricSpec,
  match: Document,
  metrics: LabelledMetric[],
  guards: Guards,
  grouped: boolean,
  ctx: MongoCompileContext,
): MongoCompiledMetrics {
  if (metrics.length > 1)
    throw new Declined(`${spec.analysis_type} beside other analyses is not compiled`);
  if (grouped)
    throw new Declined(
      `${spec.analysis_type} with group_by or interval is not compiled for MongoDB`,
    );
  const p = spec.analysis_type === 'median' ? 50 : spec.percentile;
  if (
    spec.analysis_type !== 'standard_deviation' &&
    !(typeof p === 'number' && p >= 0 && p <= 100)
  ) {
    throw new Declined('percentile out of range (the engine reports it)');
  }
  const v = valueOf(target(spec));
  // A number, or null: arrays (a list value, a path through a list) are not numbers.
  const value: Expr = { $cond: [isNumber(v), v, null] };
  const group: Document = {
    _id: null,
    n: { $sum: { $cond: [isNumber(v), 1, 0] } },
    s: { $sum: v },
  };
  const flag = guards.flag();
  if (flag !== undefined) group[UNSURE] = { $sum: flag };
  return {
    query,
    pipeline: [{ $match: match }, { $group: group }, { $limit: ctx.limits.maxResultCells + 1 }],
    metrics,
    groupCount: 0,
    bareKey: false,
    readers: [{ kind: 'value', field: 'm0' }],
    guards,
    second: {
      kind: spec.analysis_type === 'standard_deviation' ? 'standard_deviation' : 'percentile',
      percentile: p,
      match: { $match: match },
      value,
    },
  };
}

/**
 * Group keys and unique values: MongoDB compares embedded documents field by
 * field in stored order (Keen: {a,b} = {b,a}), arrays may hold such
 * documents, and a path through an array reaches into it.
 */
function structured(guards: Guards, path: string): void {
  const segments = path.split('.');
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join('.');
    guards.add(prefix, ['list'], isArray(valueOf(prefix)));
  }
  guards.add(path, ['object', 'list'], isStructured(valueOf(path)));
}

function target(spec: MetricSpec): string {
  if (spec.target_property === undefined)
    throw new Declined(`${spec.analysis_type} without target_property`);
  return spec.target_property;
}

/**
 * One analysis as a `$group` accumulator. The numeric analyses read JSON
 * numbers only (numeric.ts). MongoDB's $sum and $avg skip every other value
 * in $group (strings, booleans, documents, arrays, so a path through an
 * array too); $min and $max compare across types, so they read a value only
 * where it is a number, unless the schema says the property never held
 * anything else (then events under a marker are checked instead).
 */
function metric(
  spec: MetricSpec,
  field: string,
  guards: Guards,
): { accumulator: Document; reader: MongoReader } {
  switch (spec.analysis_type) {
    case 'count':
      return { accumulator: { $sum: 1 }, reader: { kind: 'value', field } };
    case 'sum':
      return {
        accumulator: { $sum: valueOf(target(spec)) },
        reader: { kind: 'value', field, nullAs: 0 },
      };
    case 'average':
      return { accumulator: { $avg: valueOf(target(spec)) }, reader: { kind: 'value', field } };
    case 'minimum':
    case 'maximum': {
      const path = target(spec);
      const v = valueOf(path);
      const op = spec.analysis_type === 'minimum' ? '$min' : '$max';
      // Strings and everything after them in MongoDB's order: not a number, not null.
      const others: PropertyType[] = ['string', 'datetime', 'bool', 'list', 'object'];
      const prefixes = path
        .split('.')
        .slice(0, -1)
        .map((_, i, all) => all.slice(0, i + 1).join('.'));
      if (!guards.mayHold(path, others) && !prefixes.some((p) => guards.mayHold(p, ['list']))) {
        // Events under a marker: a non-number there, or an array through a prefix, is unsure.
        guards.add(path, others, { $gte: [v, ''] });
        for (const prefix of prefixes) guards.add(prefix, ['list'], isArray(valueOf(prefix)));
        return { accumulator: { [op]: v }, reader: { kind: 'value', field } };
      }
      return {
        accumulator: { [op]: { $cond: [isNumber(v), v, null] } },
        reader: { kind: 'value', field },
      };
    }
    case 'select_unique': {
      const path = target(spec);
      structured(guards, path);
      return {
        accumulator: { $addToSet: { $ifNull: [valueOf(path), null] } },
        reader: { kind: 'unique', field },
      };
    }
    default:
      throw new Declined(`${spec.analysis_type} is not compiled for MongoDB`);
  }
}

/**
 * The bucket of `t`, from the engine's edges (the match keeps `t` inside
 * [first edge, last edge)). Equal steps are one division; otherwise a binary
 * search of `$cond`s over the edges, log2(buckets) deep.
 */
function bucketExpr(edges: number[]): Expr {
  if (edges.length < 2) return 0;
  const step = edges[1] - edges[0];
  let uniform = true;
  for (let i = 2; i + 1 < edges.length && uniform; i++) uniform = edges[i] - edges[i - 1] === step;
  if (uniform && edges[edges.length - 1] - edges[edges.length - 2] <= step) {
    return { $floor: { $divide: [{ $subtract: ['$t', new Date(edges[0])] }, step] } };
  }
  const search = (lo: number, hi: number): Expr => {
    if (hi - lo === 1) return lo;
    const mid = (lo + hi) >> 1;
    return { $cond: [{ $lt: ['$t', new Date(edges[mid])] }, search(lo, mid), search(mid, hi)] };
  };
  return search(0, edges.length - 1);
}
