import { JsonValue } from '@app/events';
import { Accumulator, AccumulatorFactory } from '../analyses/accumulator';
import { accumulatorFactory } from '../analyses/accumulator-factory';
import { EventSource } from '../event-source.port';
import { compileFilters } from '../filters/compile-filters';
import { MetricQuery, MetricSpec, MultiAnalysisQuery } from '../query.types';
import { bucketEdges, bucketIndex } from '../timeframe/interval';
import { resolveTimeframe } from '../timeframe/timeframe';
import { compilePath, PathGetter } from '../values/property-path';
import { Grouper } from './grouper';
import { QueryRun } from './query-run';
import { buildScanRequest, scanPages } from './scan-pages';
import { shapeMetricResult } from './shape-metric-result';

export interface LabelledMetric {
  /** null for a single-analysis query (its value is under `result`). */
  label: string | null;
  spec: MetricSpec;
}

/** Accumulator cells: cells[bucket][group] holds one accumulator per analysis. */
export type Cells = (Accumulator[] | undefined)[][];

/**
 * Every metric analysis, and multi_analysis, in one pass over the scan:
 * filter → interval bucket → group → fold each analysis's target value.
 */
export async function runMetrics(
  query: MetricQuery | MultiAnalysisQuery,
  source: EventSource,
  run: QueryRun,
): Promise<JsonValue> {
  const metrics: LabelledMetric[] =
    query.analysis_type === 'multi_analysis'
      ? Object.entries(query.analyses).map(([label, spec]) => ({ label, spec }))
      : [{ label: null, spec: query }];
  const range = resolveTimeframe(query.timeframe, query.timezone, run.now);
  const edges =
    query.interval && range
      ? bucketEdges(range, query.interval, query.timezone, run.limits.maxIntervalBuckets)
      : undefined;
  const bucketCount = edges ? edges.length - 1 : 1;
  const factories: AccumulatorFactory[] = metrics.map((m) =>
    accumulatorFactory(m.spec, run.budget),
  );
  const getters: (PathGetter | undefined)[] = metrics.map((m) =>
    m.spec.analysis_type === 'count' || !m.spec.target_property
      ? undefined
      : compilePath(m.spec.target_property),
  );
  const grouper = query.group_by
    ? new Grouper(query.group_by, run.limits.maxGroups, bucketCount * metrics.length, run.limits.maxResultCells)
    : undefined;
  const cells: Cells = Array.from({ length: bucketCount }, () => []);

  if (bucketCount > 0) {
    const pred = compileFilters(query.filters, run.filterOptions());
    const lo = range ? range.start : -Infinity;
    const hi = range ? range.end : Infinity;
    const { request } = buildScanRequest(
      run.projectId,
      query.event_collection,
      range,
      query.filters,
    );
    const width = factories.length;

    if (
      !edges &&
      !grouper &&
      width === 1 &&
      metrics[0].label === null &&
      metrics[0].spec.analysis_type === 'count'
    ) {
      // The common dashboard query: a plain count needs no cells at all.
      let n = 0;
      await scanPages(run, source, request, (page) => {
        for (let i = 0; i < page.length; i++) {
          const ev = page[i];
          if (ev.timestamp >= lo && ev.timestamp < hi && pred(ev.event)) n++;
        }
      });
      return n;
    }

    let lastBucket = 0;
    await scanPages(run, source, request, (page) => {
      for (let i = 0; i < page.length; i++) {
        const ev = page[i];
        const t = ev.timestamp;
        if (t < lo || t >= hi) continue;
        const body = ev.event;
        if (!pred(body)) continue;
        let b = 0;
        if (edges) {
          // Stores return events mostly in time order: try the last bucket first.
          if (t >= edges[lastBucket] && t < edges[lastBucket + 1]) b = lastBucket;
          else if ((b = bucketIndex(edges, t)) < 0) continue;
          else lastBucket = b;
        }
        const g = grouper ? grouper.indexOf(body) : 0;
        const row = cells[b];
        let accs = row[g];
        if (accs === undefined) {
          accs = new Array<Accumulator>(width);
          for (let m = 0; m < width; m++) accs[m] = factories[m]();
          row[g] = accs;
        }
        for (let m = 0; m < width; m++) {
          const get = getters[m];
          accs[m].add(get === undefined ? undefined : get(body));
        }
      }
    });
  }

  await finishCells(cells, run);
  if (!edges || !grouper || edges.length <= 2) {
    return shapeMetricResult({ query, metrics, factories, cells, edges, grouper });
  }
  // Interval × group_by lists every group in every bucket (up to maxGroups ×
  // maxIntervalBuckets rows): shaped one bucket at a time, with a pause
  // between buckets when the slice is used up.
  const out: JsonValue[] = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    const one = shapeMetricResult({
      query,
      metrics,
      factories,
      cells: [cells[b]],
      edges: [edges[b], edges[b + 1]],
      grouper,
    }) as JsonValue[];
    out.push(one[0]);
    await run.slice.breathe();
  }
  return out;
}

/** Runs every accumulator's finish() (percentile selection, unique sorting) in slices. */
async function finishCells(cells: Cells, run: QueryRun): Promise<void> {
  let visited = 0;
  for (const row of cells) {
    for (const accs of row) {
      if (accs === undefined) continue;
      for (const acc of accs) if (acc.finish) await acc.finish(run.slice);
      if ((++visited & 1023) === 0) await run.slice.breathe();
    }
  }
}
