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
} from '@app/query-engine';
import { anyOf, Declined, Expr, isArray, isNumber, isObject, valueOf } from './mongo-expressions';
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
  readers: MongoReader[];
}

export type MongoCompilation = { compiled: MongoCompiledMetrics } | { declined: string };

export interface MongoCompileContext {
  projectId: string;
  now: number;
  limits: QueryLimits;
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
 * select_unique, with group_by (several), interval and multi_analysis.
 * Declined: median and percentile (MongoDB 7's $percentile is approximate,
 * Keen's interpolates), standard_deviation (no $stdDevPop on the test server,
 * and sums of squares lose the precision Welford's method keeps), funnels,
 * extraction (the event scan already streams it), execution metadata.
 */
export function compileMongoQuery(query: Query, ctx: MongoCompileContext): MongoCompilation {
  try {
    return { compiled: compile(query, ctx) };
  } catch (e) {
    if (e instanceof Declined) return { declined: e.message };
    if (e instanceof TallyError) return { declined: `the engine decides: ${e.message}` };
    return { declined: `compiler fault: ${(e as Error).message}` };
  }
}

function compile(query: Query, ctx: MongoCompileContext): MongoCompiledMetrics {
  if (query.analysis_type === 'funnel') throw new Declined('funnel is not compiled');
  if (query.analysis_type === 'extraction') throw new Declined('extraction reads the event scan');
  if (query.include_metadata) throw new Declined('execution_metadata reports the engine scan');
  const metrics: LabelledMetric[] =
    query.analysis_type === 'multi_analysis'
      ? Object.entries(query.analyses).map(([label, spec]) => ({ label, spec }))
      : [{ label: null, spec: query }];
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  const edges =
    query.interval && range
      ? bucketEdges(range, query.interval, query.timezone, ctx.limits.maxIntervalBuckets)
      : undefined;

  const filters = compileMongoFilters(query.filters, ctx.limits);
  const match: Document = { p: ctx.projectId, c: query.event_collection };
  if (range) match.t = { $gte: new Date(range.start), $lt: new Date(range.end) };
  const unsure = [...filters.unsure];

  const key: Document = {};
  if (edges) key.b = bucketExpr(edges);
  const groupBy = query.group_by ?? [];
  groupBy.forEach((path, i) => {
    const v = valueOf(path);
    // Missing and null form one group, as in the engine.
    key[`g${i}`] = { $ifNull: [v, null] };
    // MongoDB compares embedded documents field by field in stored order
    // (Keen: {a,b} = {b,a}), and arrays may hold such documents.
    unsure.push(isObject(v), isArray(v));
  });

  const distinct = metrics.find((m) => m.spec.analysis_type === 'count_unique');
  const pipeline: Document[] = [
    { $match: filters.match ? { ...match, ...splitAnd(filters.match) } : match },
  ];
  const readers: MongoReader[] = [];
  const group: Document = {};
  if (distinct) {
    if (metrics.length > 1)
      throw new Declined('count_unique beside other analyses is not compiled');
    // Distinct values per cell: group by (cell, value), then count per cell.
    const v = valueOf(target(distinct.spec));
    unsure.push(isObject(v), isArray(v));
    pipeline.push({
      $group: { _id: { ...key, v: { $ifNull: [v, null] } }, [UNSURE]: { $sum: anyOf(unsure) } },
    });
    const cell: Document = {};
    if (edges) cell.b = '$_id.b';
    groupBy.forEach((_, i) => (cell[`g${i}`] = `$_id.g${i}`));
    pipeline.push({
      $group: {
        _id: cell,
        m0: { $sum: { $cond: [{ $eq: ['$_id.v', null] }, 0, 1] } },
        [UNSURE]: { $sum: `$${UNSURE}` },
      },
    });
    readers.push({ kind: 'value', field: 'm0' });
  } else {
    metrics.forEach((m, i) => {
      const { accumulator, reader, unsure: extra } = metric(m.spec, `m${i}`);
      group[`m${i}`] = accumulator;
      readers.push(reader);
      unsure.push(...extra);
    });
    pipeline.push({
      $group: {
        _id: Object.keys(key).length > 0 ? key : null,
        ...group,
        [UNSURE]: { $sum: anyOf(unsure) },
      },
    });
  }
  // More cells than the engine allows: it reports the limit, so one more is enough to know.
  pipeline.push({ $limit: ctx.limits.maxResultCells + 1 });
  return {
    query,
    pipeline,
    metrics,
    edges,
    groupCount: groupBy.length,
    readers,
  };
}

/** The filters' `$and` spread into the match (a top-level `$and` is kept as is). */
function splitAnd(match: Document): Document {
  return Object.keys(match).length === 0 ? {} : { $and: [match] };
}

function target(spec: MetricSpec): string {
  if (spec.target_property === undefined)
    throw new Declined(`${spec.analysis_type} without target_property`);
  return spec.target_property;
}

/**
 * One analysis as a `$group` accumulator. The numeric analyses read JSON
 * numbers only (numeric.ts): anything else (strings, booleans, lists, a path
 * through a list) becomes null, which $avg, $min and $max skip, or 0 for $sum.
 */
function metric(
  spec: MetricSpec,
  field: string,
): { accumulator: Document; reader: MongoReader; unsure: Document[] } {
  const numberOr = (v: Expr, other: Expr) => ({ $cond: [isNumber(v), v, other] });
  switch (spec.analysis_type) {
    case 'count':
      return { accumulator: { $sum: 1 }, reader: { kind: 'value', field }, unsure: [] };
    case 'sum': {
      const v = valueOf(target(spec));
      return {
        accumulator: { $sum: numberOr(v, 0) },
        reader: { kind: 'value', field, nullAs: 0 },
        unsure: [],
      };
    }
    case 'average':
    case 'minimum':
    case 'maximum': {
      const v = valueOf(target(spec));
      const op = { average: '$avg', minimum: '$min', maximum: '$max' }[spec.analysis_type];
      return {
        accumulator: { [op]: numberOr(v, null) },
        reader: { kind: 'value', field },
        unsure: [],
      };
    }
    case 'select_unique': {
      const v = valueOf(target(spec));
      return {
        accumulator: { $addToSet: { $ifNull: [v, null] } },
        reader: { kind: 'unique', field },
        unsure: [isObject(v), isArray(v)],
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
