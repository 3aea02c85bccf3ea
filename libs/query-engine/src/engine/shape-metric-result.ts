import { JsonObject, JsonValue, userKeyed } from '@app/events';
import { Accumulator, AccumulatorFactory } from '../analyses/accumulator';
import { MetricQuery, MultiAnalysisQuery, OrderBy } from '../query.types';
import { compareJson } from '../values/total-order';
import { Grouper } from './grouper';
import type { Cells, LabelledMetric } from './run-metrics';

interface ShapeInput {
  query: MetricQuery | MultiAnalysisQuery;
  metrics: LabelledMetric[];
  factories: AccumulatorFactory[];
  cells: Cells;
  edges?: number[];
  grouper?: Grouper;
}

/**
 * Renders accumulated cells in Keen's shapes (docs/query-language.md, Result shapes):
 * plain value; group rows `{prop: value, …, result}`; interval
 * `[{value, timeframe:{start,end}}]` with every bucket present; and both
 * nested, where every bucket lists every group seen in the timeframe (empty
 * ones with the analysis's empty value). multi_analysis puts one key per
 * label where single analyses put `result`.
 */
export function shapeMetricResult(input: ShapeInput): JsonValue {
  const { query, metrics, factories, cells, edges, grouper } = input;
  const empties = factories.map((f) => f());
  const valueOf = (accs: Accumulator[] | undefined): JsonValue => {
    const use = accs ?? empties;
    if (metrics.length === 1 && metrics[0].label === null) return use[0].result();
    // Labels and group_by names come from the client: null-prototype rows
    // keep every one of them (`__proto__` included) as a plain key.
    const out = userKeyed();
    metrics.forEach((m, i) => (out[m.label as string] = use[i].result()));
    return out;
  };

  const groupOrder = grouper ? sortedGroups(grouper) : [];
  const rowsOf = (bucket: (Accumulator[] | undefined)[]): JsonObject[] => {
    const g = grouper as Grouper;
    const rows = groupOrder.map((gi) => {
      const row = userKeyed();
      g.properties.forEach((p, j) => (row[p] = g.values[gi][j]));
      const v = valueOf(bucket[gi]);
      if (metrics[0].label === null) row.result = v;
      else Object.assign(row, v as JsonObject);
      return row;
    });
    return applyOrder(rows, query.order_by, query.limit);
  };

  if (!edges) return grouper ? rowsOf(cells[0]) : valueOf(cells[0][0]);
  const out: JsonObject[] = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    out.push({
      value: grouper ? rowsOf(cells[b]) : valueOf(cells[b][0]),
      timeframe: { start: iso(edges[b]), end: iso(edges[b + 1]) },
    });
  }
  return out;
}

/** Group rows in a stable default order: by group values, first property first. */
function sortedGroups(g: Grouper): number[] {
  const idx = g.values.map((_, i) => i);
  return idx.sort((a, b) => {
    const va = g.values[a];
    const vb = g.values[b];
    for (let j = 0; j < va.length; j++) {
      const c = compareJson(va[j], vb[j]);
      if (c !== 0) return c;
    }
    return 0;
  });
}

export function applyOrder(rows: JsonObject[], orderBy?: OrderBy[], limit?: number): JsonObject[] {
  if (orderBy && orderBy.length > 0) {
    rows.sort((a, b) => {
      for (const o of orderBy) {
        const c = compareJson(a[o.property_name], b[o.property_name]);
        if (c !== 0) return o.direction === 'DESC' ? -c : c;
      }
      return 0;
    });
  }
  return limit !== undefined ? rows.slice(0, limit) : rows;
}

/** Keen's timestamps: UTC ISO-8601 with milliseconds and Z. */
export const iso = (ms: number): string => new Date(ms).toISOString();
