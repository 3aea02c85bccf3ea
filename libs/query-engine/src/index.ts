// The query engine's single public entry point (pure TypeScript, no Nest).
// Test helpers (in-memory source, reference evaluator) live in ./testing.
export * from './event-source.port';
export * from './filters/filter.types';
export * from './query.types';
export * from './query-limits';
export { QueryErrorCode } from './query-errors';

export { parseQuery, ANALYSIS_TYPES, METRIC_ANALYSES } from './parse/parse-query';
export { parseEventSelection } from './parse/parse-selection';
export type { EventSelection } from './parse/parse-selection';
export { executeQuery, streamExtraction, streamExtractionNdjson } from './engine/execute-query';
export { executionMetadata } from './engine/execution-metadata';
export type { NdjsonChunk } from './engine/run-extraction';
export { buildScanRequest } from './engine/scan-pages';
export type { ExecuteContext } from './engine/query-run';

export { compileFilters, compileFilter, containsNeedle } from './filters/compile-filters';
export type { EventPredicate, CompileFilterOptions } from './filters/compile-filters';
export { parseFilters } from './filters/parse-filters';
export type { ParseFilterOptions } from './filters/parse-filters';
export { planPushdown, exactEqualityValues } from './filters/filter-pushdown';
export type { Pushdown } from './filters/filter-pushdown';

export { parseTimeframe, resolveTimeframe } from './timeframe/timeframe';
export type {
  Timeframe,
  RelativeTimeframe,
  AbsoluteTimeframe,
  TimeRange,
} from './timeframe/timeframe';
export { parseTimezone, UTC, zoneOf } from './timeframe/timezone';
export type { QueryTimezone } from './timeframe/timezone';
export { parseInterval, bucketEdges } from './timeframe/interval';
export type { Interval } from './timeframe/interval';
export type { TimeUnit } from './timeframe/time-unit';
export { startOfUnit, addUnits } from './timeframe/time-unit';
export { compilePath, compileProjection } from './values/property-path';
export type { PathGetter } from './values/property-path';

// Internals the embedded engine's compiled path (libs/storage/src/duckdb) reuses,
// so its rules (numeric strings, datetimes, value order) and its result shapes are
// the engine's by construction rather than a second copy that could drift.
export { numericString } from './filters/loose-compare';
export { parseIsoInstant } from './values/iso-instant';
export { canonicalJson, compareJson } from './values/total-order';
export { shapeMetricResult } from './engine/shape-metric-result';
export type { Cells, LabelledMetric } from './engine/run-metrics';
export { Grouper } from './engine/grouper';
export { accumulatorFactory } from './analyses/accumulator-factory';
export { ValueBudget } from './analyses/accumulator';
export type { Accumulator, AccumulatorFactory } from './analyses/accumulator';
