import { JsonValue } from '@app/events';
import {
  Accumulator,
  accumulatorFactory,
  canonicalJson,
  Cells,
  compareJson,
  Grouper,
  QueryLimits,
  shapeMetricResult,
  ValueBudget,
  MetricQuery,
  MultiAnalysisQuery,
} from '@app/query-engine';
import { valueFromColumns } from './column-layout';
import { CompiledMetrics, MetricReader } from './compile-query';

/**
 * Result rows → the engine's answer, through the engine's own shaping
 * (shapeMetricResult): each (bucket, group) cell gets accumulators that
 * already hold their values, groups go into a real Grouper, and empty cells
 * come from the engine's accumulator factories, so ordering, limits, empty
 * values and the nesting of interval × group_by are the engine's by
 * construction. Returns undefined when the engine would stop with a limit
 * error (groups, result cells, values in memory): the caller falls back and
 * the engine reports it in its words.
 */
export function shapeRows(
  query: MetricQuery | MultiAnalysisQuery,
  compiled: CompiledMetrics,
  rows: unknown[][],
  limits: QueryLimits,
): JsonValue | undefined {
  const { metrics, edges, groupColumns, readers } = compiled;
  const bucketCount = edges ? Math.max(0, edges.length - 1) : 1;
  const grouper = query.group_by
    ? new Grouper(query.group_by, limits.maxGroups, bucketCount * metrics.length, limits.maxResultCells)
    : undefined;
  const groupIndex = new Map<string, number>();
  const cells: Cells = Array.from({ length: bucketCount }, () => []);
  let valuesKept = 0;

  for (const row of rows) {
    const b = compiled.bucketColumn === undefined ? 0 : (row[compiled.bucketColumn] as number);
    let g = 0;
    if (grouper && groupColumns) {
      const values = groupColumns.map((cols) => valueFromColumns(cols.map((c) => (c < 0 ? null : row[c]))));
      const key = canonicalJson(values);
      const found = groupIndex.get(key);
      if (found === undefined) {
        if (grouper.values.length >= limits.maxGroups) return undefined;
        if ((grouper.values.length + 1) * bucketCount * metrics.length > limits.maxResultCells) return undefined;
        g = grouper.values.length;
        groupIndex.set(key, g);
        // The Grouper only holds the groups here (SQL did the grouping): its
        // values list is what shapeMetricResult sorts and prints.
        grouper.values.push(values);
      } else g = found;
    }
    cells[b][g] = readers.map((r) => {
      const { value, kept } = readValue(r, row);
      valuesKept += kept;
      return fixed(value);
    });
  }
  // The engine's memory budget (maxValuesInMemory) bounds what a query holds
  // in this process. Distinct counts and percentiles are computed by DuckDB
  // under its own memory limit (it spills to disk), so only values the answer
  // itself carries (select_unique) count here: a percentile over 10 million
  // events is an answer, not a limit error.
  if (valuesKept > limits.maxValuesInMemory) return undefined;

  const budget = new ValueBudget(limits.maxValuesInMemory);
  const factories = metrics.map((m) => accumulatorFactory(m.spec, budget));
  return shapeMetricResult({ query, metrics, factories, cells, edges, grouper });
}

function readValue(r: MetricReader, row: unknown[]): { value: JsonValue; kept: number } {
  switch (r.kind) {
    case 'constant':
      return { value: r.value, kept: 0 };
    case 'value': {
      const v = row[r.column];
      return { value: v === null || v === undefined ? (r.nullAs ?? null) : (v as number), kept: 0 };
    }
    case 'distinct': {
      let n = 0;
      for (const c of r.columns) if (c >= 0) n += row[c] as number;
      return { value: n, kept: 0 };
    }
    case 'unique': {
      const out: JsonValue[] = [];
      r.columns.forEach((c, k) => {
        if (c < 0) return;
        const list = row[c] as unknown[] | null;
        if (!list) return;
        const one = new Array<unknown>(5).fill(null);
        for (const v of list) {
          one[k] = v;
          out.push(valueFromColumns(one));
        }
      });
      out.sort(compareJson);
      return { value: out, kept: out.length };
    }
  }
}

/** An accumulator that already knows its result (the SQL computed it). */
function fixed(value: JsonValue): Accumulator {
  return { add: () => undefined, result: () => value };
}
