import { TallyError } from '@app/events';
import {
  bucketEdges,
  ExtractionQuery,
  LabelledMetric,
  MetricQuery,
  MetricSpec,
  MultiAnalysisQuery,
  Query,
  QueryLimits,
  resolveTimeframe,
  TimeRange,
} from '@app/query-engine';
import { ColumnKind, VALUE_KINDS } from './column-layout';
import type { SqlParam } from './event-table';
import { filtersSql, PathColumns } from './sql-filters';
import { Decline, SqlParams } from './sql-params';

/** How one analysis's value is read back from a result row. */
export type MetricReader =
  /** The value sits in one column (count, sum, average, percentile, median, …). */
  | { kind: 'value'; column: number; nullAs?: number }
  /** count_unique: the sum of the distinct counts per value kind. */
  | { kind: 'distinct'; columns: number[] }
  /** select_unique: one list of distinct values per value kind (VALUE_KINDS order, -1 = none). */
  | { kind: 'unique'; columns: number[] }
  /** A constant: the analysis's target never had a number in this collection. */
  | { kind: 'constant'; value: number | null };

export interface CompiledMetrics {
  kind: 'metrics';
  sql: string;
  params: SqlParam[];
  metrics: LabelledMetric[];
  /** Bucket edges (the engine's own), when the query has an interval over a timeframe. */
  edges?: number[];
  /** Result column of the bucket index, when edges are set. */
  bucketColumn?: number;
  /** Per group_by property, its value columns (VALUE_KINDS order, -1 = none). */
  groupColumns?: number[][];
  readers: MetricReader[];
  /** With include_metadata: the statement counting the rows the query reads (execution_metadata). */
  scanned?: ScannedCount;
}

/**
 * execution_metadata's `events_scanned` for a compiled query: the collection's
 * events in the timeframe, the rows DuckDB reads and filters (the TypeScript
 * engine's figure is what its scan returned, which pushdown hints may narrow).
 */
export interface ScannedCount {
  sql: string;
  params: SqlParam[];
}

/**
 * An extraction: the matching events' bodies, oldest first. With `latest`,
 * every match at or after the N-th newest timestamp (ties at the cut
 * included), of which the caller keeps the N last in the engine's order.
 */
export interface CompiledExtraction {
  kind: 'extraction';
  sql: string;
  params: SqlParam[];
  latest?: number;
  /** More rows than this: the engine stops with maxExtractionEvents (the SQL reads one more). */
  maxEvents: number;
  propertyNames?: string[];
  scanned?: ScannedCount;
}

export type CompiledQuery = CompiledMetrics | CompiledExtraction;

export type Compilation = { compiled: CompiledQuery } | { declined: string };

export interface CompileContext {
  projectId: string;
  now: number;
  limits: QueryLimits;
  columnsOf(path: string): PathColumns;
}

/**
 * A parsed query → one SQL statement over the event table that yields, per
 * (interval bucket, group), the analyses' values, or the reason it cannot
 * (then the TypeScript engine answers). Timeframes and bucket edges come from
 * the engine's own functions (resolveTimeframe, bucketEdges), so DST and
 * month lengths are handled once; SQL only maps a row to its bucket
 * (bucketSql). What the SQL computes per cell mirrors the engine's accumulators
 * (analyses/): numeric analyses read only JSON numbers (the `n` column), the
 * unique analyses every value kind apart.
 */
export function compileQuery(query: Query, ctx: CompileContext): Compilation {
  try {
    return { compiled: compile(query, ctx) };
  } catch (e) {
    if (e instanceof Decline) return { declined: e.message };
    // What the engine's own functions reject (a timeframe out of range, too
    // many buckets) is left for the engine to report in its own words.
    if (e instanceof TallyError) return { declined: `the engine decides: ${e.message}` };
    // Anything else is a fault here; the engine still answers, and the
    // reason says so (the property test fails on it).
    return { declined: `compiler fault: ${(e as Error).message}` };
  }
}

function compile(query: Query, ctx: CompileContext): CompiledQuery {
  if (query.analysis_type === 'funnel') throw new Decline('funnel is not compiled');
  if (query.analysis_type === 'extraction')
    return withScanned(compileExtraction(query, ctx), query, ctx);
  const metrics: LabelledMetric[] =
    query.analysis_type === 'multi_analysis'
      ? Object.entries(query.analyses).map(([label, spec]) => ({ label, spec }))
      : [{ label: null, spec: query }];
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  const edges =
    query.interval && range
      ? bucketEdges(range, query.interval, query.timezone, ctx.limits.maxIntervalBuckets)
      : undefined;
  const params = new SqlParams();
  const columnsOf = guardedColumns(ctx);
  const where = scopeSql(query, range, ctx, params);

  const select: string[] = [];
  const keys: string[] = [];
  const column = (sql: string): number => select.push(sql) - 1;
  let from = 'events e';
  let bucketColumn: number | undefined;
  if (edges) {
    const bucket = bucketSql(edges, params);
    if (bucket.join) from += bucket.join;
    bucketColumn = column(bucket.index);
    keys.push(bucket.index);
  }
  let groupColumns: number[][] | undefined;
  if (query.group_by) {
    groupColumns = query.group_by.map((path) => {
      const cols = columnsOf(path);
      // Null and missing form one group (the engine's missing → null), so the
      // null flag is not part of the key: both leave every value column NULL.
      return VALUE_KINDS.map((kind) => {
        const name = cols.get(kind);
        if (name === undefined) return -1;
        keys.push(name);
        return column(name);
      });
    });
  }
  const readers = metrics.map((m) => reader(m.spec, columnsOf, column, params));
  if (select.length === 0) select.push('count(*)');

  const sql =
    `SELECT ${select.join(', ')} FROM ${from} WHERE ${where}` +
    (keys.length > 0 ? ` GROUP BY ${keys.join(', ')}` : '') +
    // Cells without events are left out: the shaping fills them with each
    // analysis's empty value, as the engine does for cells it never created.
    ' HAVING count(*) > 0';
  return withScanned(
    {
      kind: 'metrics',
      sql,
      params: params.values,
      metrics,
      edges,
      bucketColumn,
      groupColumns,
      readers,
    },
    query,
    ctx,
  );
}

/** Adds the count behind execution_metadata when the query asks for it. */
function withScanned<C extends CompiledQuery>(
  compiled: C,
  query: MetricQuery | MultiAnalysisQuery | ExtractionQuery,
  ctx: CompileContext,
): C {
  if (!query.include_metadata) return compiled;
  const params = new SqlParams();
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  const where = collectionSql(query, range, ctx, params).join(' AND ');
  return {
    ...compiled,
    scanned: { sql: `SELECT count(*) FROM events e WHERE ${where}`, params: params.values },
  };
}

/** A path's columns, declining paths whose strings DuckDB could not hold unchanged. */
function guardedColumns(ctx: CompileContext): (path: string) => PathColumns {
  return (path) => {
    const cols = ctx.columnsOf(path);
    if (cols.has('u')) throw new Decline(`${path} holds strings DuckDB cannot store unchanged`);
    return cols;
  };
}

/** The collection's rows in the timeframe: what a query reads before its filters. */
function collectionSql(
  query: MetricQuery | MultiAnalysisQuery | ExtractionQuery,
  range: TimeRange | undefined,
  ctx: CompileContext,
  params: SqlParams,
): string[] {
  const where = [
    `e.project = ${params.add(ctx.projectId)}`,
    `e.collection = ${params.add(query.event_collection)}`,
  ];
  if (range) {
    where.push(`e.ts >= ${params.instant(range.start)}`, `e.ts < ${params.instant(range.end)}`);
  }
  return where;
}

/** The rows a query reads: its project and collection, timeframe and filters. */
function scopeSql(
  query: MetricQuery | MultiAnalysisQuery | ExtractionQuery,
  range: TimeRange | undefined,
  ctx: CompileContext,
  params: SqlParams,
): string {
  const where = collectionSql(query, range, ctx, params);
  where.push(
    filtersSql(query.filters, {
      columnsOf: guardedColumns(ctx),
      params,
      maxInValues: ctx.limits.maxInValues,
      maxRegexLength: ctx.limits.maxRegexLength,
    }),
  );
  return where.map((w) => `(${w})`).join(' AND ');
}

/**
 * Extraction reads bodies as stored. SQL orders by (ts, id) only to pick
 * rows; the caller re-sorts them with the engine's order (ids by UTF-16 code
 * units, which DuckDB's byte order can differ from). `latest` keeps every
 * match at or after the N-th newest timestamp, so ties at the cut are all
 * there for that sort, as the engine's newest-first read keeps them.
 */
function compileExtraction(query: ExtractionQuery, ctx: CompileContext): CompiledExtraction {
  const max = ctx.limits.maxExtractionEvents;
  if (query.latest !== undefined && query.latest > max) {
    throw new Decline('latest over maxExtractionEvents (the engine reports it)');
  }
  const range = resolveTimeframe(query.timeframe, query.timezone, ctx.now);
  const params = new SqlParams();
  const where = scopeSql(query, range, ctx, params);
  let sql: string;
  if (query.latest !== undefined) {
    const offset = params.add(BigInt(query.latest - 1));
    // A placeholder may appear twice: the cut reads the same rows as the outer query.
    sql =
      `SELECT e.id, e.ts, e.body FROM events e WHERE ${where} AND e.ts >= COALESCE(` +
      `(SELECT e.ts FROM events e WHERE ${where} ORDER BY e.ts DESC LIMIT 1 OFFSET ${offset}), ` +
      `-9223372036854775808)`;
  } else {
    sql = `SELECT e.id, e.ts, e.body FROM events e WHERE ${where} ORDER BY e.ts, e.id LIMIT ${params.add(BigInt(max + 1))}`;
  }
  return {
    kind: 'extraction',
    sql,
    params: params.values,
    latest: query.latest,
    maxEvents: max,
    propertyNames: query.property_names,
  };
}

/**
 * The bucket of each row, from the engine's edges (the WHERE already keeps
 * rows inside [first edge, last edge)). Equal steps (minutes, hours, and days
 * or weeks where the zone's offset does not change) are one integer division:
 * several times faster than a join. Steps that are equal but for a few (days
 * or weeks over a DST change: one 23- or 25-hour day) are a short CASE over
 * the runs of equal steps, each run a division from its first edge. Unequal
 * steps throughout (months, years) join the edges with an ASOF join: a row
 * belongs to the last edge at or before it, since buckets are contiguous.
 */
function bucketSql(edges: number[], params: SqlParams): { index: string; join?: string } {
  // An empty timeframe has no buckets: no row may reach one. (A column, not the
  // literal 0, which GROUP BY would read as a position.)
  if (edges.length < 2) return { index: 'none.b', join: ' JOIN (SELECT 0 AS b) none ON FALSE' };
  const step = edges[1] - edges[0];
  let uniform = true;
  for (let i = 2; i + 1 < edges.length && uniform; i++) uniform = edges[i] - edges[i - 1] === step;
  // The last bucket may be clipped to the timeframe's end, never longer.
  if (uniform && edges[edges.length - 1] - edges[edges.length - 2] <= step) {
    return { index: `((e.ts - ${params.instant(edges[0])}) // ${params.instant(step)})` };
  }
  const runs = equalStepRuns(edges);
  if (runs.length <= MAX_CASE_RUNS) {
    // Latest run first: a row takes the first branch whose start it has reached.
    const branches = runs
      .slice()
      .reverse()
      .map((run) => {
        const start = params.instant(edges[run.from]);
        const index =
          run.step === undefined
            ? `${run.from}`
            : `(${run.from} + (e.ts - ${start}) // ${params.instant(run.step)})`;
        return `WHEN e.ts >= ${start} THEN ${index}`;
      });
    return { index: `(CASE ${branches.join(' ')} END)` };
  }
  const rows: string[] = [];
  for (let i = 0; i + 1 < edges.length; i++) rows.push(`(${i}, ${params.instant(edges[i])})`);
  return {
    index: 'bk.b',
    join: ` ASOF JOIN (VALUES ${rows.join(', ')}) bk(b, lo) ON e.ts >= bk.lo`,
  };
}

/** Beyond this many runs of equal steps, the ASOF join is the cheaper bucket. */
const MAX_CASE_RUNS = 16;

/**
 * The buckets as runs: consecutive buckets of the most common length form a
 * run (`step` set: bucket from + (ts − its first edge) ÷ step), every other
 * bucket is a run of its own (`step` unset: the bucket is `from`, whatever
 * the row's place in it). The last bucket, clipped to the timeframe's end,
 * joins its run when it is no longer than the step.
 */
function equalStepRuns(edges: number[]): { from: number; step?: number }[] {
  const lengths = new Map<number, number>();
  for (let i = 0; i + 1 < edges.length; i++) {
    const len = edges[i + 1] - edges[i];
    lengths.set(len, (lengths.get(len) ?? 0) + 1);
  }
  const step = [...lengths.entries()].sort((a, b) => b[1] - a[1])[0][0];
  const runs: { from: number; step?: number }[] = [];
  const last = edges.length - 2;
  for (let i = 0; i <= last; i++) {
    const len = edges[i + 1] - edges[i];
    const regular = len === step || (i === last && len < step);
    const open = runs[runs.length - 1];
    if (regular && open?.step === step && i > 0) continue;
    runs.push(regular ? { from: i, step } : { from: i });
  }
  return runs;
}

function reader(
  spec: MetricSpec,
  columnsOf: (path: string) => PathColumns,
  column: (sql: string) => number,
  params: SqlParams,
): MetricReader {
  if (spec.analysis_type === 'count') return { kind: 'value', column: column('count(*)') };
  const target = spec.target_property;
  if (target === undefined) throw new Decline(`${spec.analysis_type} without target_property`);
  const cols = columnsOf(target);
  const n = cols.get('n');
  const kindColumns = (agg: (name: string) => string) =>
    VALUE_KINDS.map((kind: ColumnKind) => {
      const name = cols.get(kind);
      return name === undefined ? -1 : column(agg(name));
    });
  switch (spec.analysis_type) {
    case 'count_unique':
      return { kind: 'distinct', columns: kindColumns((c) => `count(DISTINCT ${c})`) };
    case 'select_unique':
      return {
        kind: 'unique',
        columns: kindColumns((c) => `list(DISTINCT ${c}) FILTER (WHERE ${c} IS NOT NULL)`),
      };
    case 'sum':
      return n
        ? { kind: 'value', column: column(`sum(${n})`), nullAs: 0 }
        : { kind: 'constant', value: 0 };
    case 'average':
    case 'minimum':
    case 'maximum':
    case 'standard_deviation': {
      if (!n) return { kind: 'constant', value: null };
      const fn = {
        average: 'avg',
        minimum: 'min',
        maximum: 'max',
        standard_deviation: 'stddev_pop',
      }[spec.analysis_type];
      return { kind: 'value', column: column(`${fn}(${n})`) };
    }
    case 'median':
    case 'percentile': {
      if (!n) return { kind: 'constant', value: null };
      const p = spec.analysis_type === 'median' ? 50 : spec.percentile;
      if (typeof p !== 'number' || !(p >= 0 && p <= 100))
        throw new Decline('percentile out of range');
      // quantile_cont interpolates between closest ranks at (n−1)·q, the same
      // definition as the engine's percentileOf (rank = p/100 · (n−1)).
      return { kind: 'value', column: column(`quantile_cont(${n}, ${params.add(p / 100)})`) };
    }
    default:
      throw new Decline(`${spec.analysis_type} is not compiled`);
  }
}
