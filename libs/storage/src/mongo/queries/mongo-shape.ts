import type { Document } from 'mongodb';
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
} from '@app/query-engine';
import { MongoCompiledMetrics, MongoReader } from './mongo-query.compile';

/**
 * `$group` results → the engine's answer, through the engine's own shaping
 * (shapeMetricResult), as the DuckDB path does (duckdb/shape-rows.ts): each
 * (bucket, group) cell gets accumulators that already hold their values,
 * groups go into a Grouper, and empty cells come from the engine's
 * accumulator factories. Returns undefined when the engine would stop with a
 * limit error (groups, result cells, values in memory): the caller declines
 * and the engine reports it in its own words.
 */
export function shapeMongoRows(
  compiled: MongoCompiledMetrics,
  rows: Document[],
  limits: QueryLimits,
): JsonValue | undefined {
  const { query, metrics, edges, groupCount, readers } = compiled;
  const bucketCount = edges ? Math.max(0, edges.length - 1) : 1;
  const cellsPerGroup = bucketCount * metrics.length;
  const grouper = query.group_by
    ? new Grouper(query.group_by, limits.maxGroups, cellsPerGroup, limits.maxResultCells)
    : undefined;
  const groupIndex = new Map<string, number>();
  const cells: Cells = Array.from({ length: bucketCount }, () => []);
  let valuesKept = 0;

  for (const row of rows) {
    const id = (compiled.bareKey ? { g0: row._id } : (row._id ?? {})) as Document;
    const b = edges ? (id.b as number) : 0;
    if (!(b >= 0 && b < bucketCount)) return undefined;
    let g = 0;
    if (grouper) {
      const values: JsonValue[] = [];
      for (let i = 0; i < groupCount; i++) values.push((id[`g${i}`] ?? null) as JsonValue);
      const key = canonicalJson(values);
      const found = groupIndex.get(key);
      if (found === undefined) {
        if (grouper.values.length >= limits.maxGroups) return undefined;
        if ((grouper.values.length + 1) * cellsPerGroup > limits.maxResultCells) return undefined;
        g = grouper.values.length;
        groupIndex.set(key, g);
        grouper.values.push(values);
      } else g = found;
    }
    cells[b][g] = readers.map((r) => {
      const { value, kept } = readValue(r, row);
      valuesKept += kept;
      return fixed(value);
    });
  }
  if (valuesKept > limits.maxValuesInMemory) return undefined;
  const budget = new ValueBudget(limits.maxValuesInMemory);
  const factories = metrics.map((m) => accumulatorFactory(m.spec, budget));
  return shapeMetricResult({ query, metrics, factories, cells, edges, grouper });
}

function readValue(r: MongoReader, row: Document): { value: JsonValue; kept: number } {
  const v = row[r.field];
  if (r.kind === 'value') {
    return { value: v === null || v === undefined ? (r.nullAs ?? null) : Number(v), kept: 0 };
  }
  const list = ((v ?? []) as JsonValue[]).filter((x) => x !== null);
  list.sort(compareJson);
  return { value: list, kept: list.length };
}

/** An accumulator that already knows its result (the pipeline computed it). */
function fixed(value: JsonValue): Accumulator {
  return { add: () => undefined, result: () => value };
}
