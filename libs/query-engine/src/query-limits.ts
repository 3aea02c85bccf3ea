/**
 * Protection limits for one query. They exist because a single heavy query
 * must not take down a query process shared by every tenant: each bounds
 * either time (deadline) or memory (groups, distinct values, extraction size).
 */
export interface QueryLimits {
  /** Wall-clock budget of executeQuery; exceeded → 504 QueryTimeoutError. */
  deadlineMs: number;
  /** Distinct group_by combinations held at once. */
  maxGroups: number;
  /** Keen's own rule: at most 2,500 interval buckets. */
  maxIntervalBuckets: number;
  /**
   * Result cells of one query: groups × interval buckets × analyses. Each cap
   * alone is sane, but their product is not (10,000 groups over 2,500 daily
   * buckets is 25M rows: gigabytes, seconds of shaping), so it has its own.
   */
  maxResultCells: number;
  /** Events a synchronous extraction may return (larger: stream the export). */
  maxExtractionEvents: number;
  /** Characters in a regex filter pattern (re2js is linear, but compile cost is not). */
  maxRegexLength: number;
  /** Filters in one query, nested `or` operands included. */
  maxFilters: number;
  /** Values in one `in` list. */
  maxInValues: number;
  /**
   * Size of a query's filters as JSON text (all property values and names),
   * so no operand (an `eq` object, a `contains` string) is unbounded either.
   */
  maxFilterBytes: number;
  /** Values kept in memory across the query (unique sets, median samples, funnel actors). */
  maxValuesInMemory: number;
  /** Steps in one funnel. */
  maxFunnelSteps: number;
}

export const DEFAULT_QUERY_LIMITS: Readonly<QueryLimits> = Object.freeze({
  deadlineMs: 60_000,
  maxGroups: 10_000,
  maxIntervalBuckets: 2_500,
  maxResultCells: 1_000_000,
  maxExtractionEvents: 100_000,
  maxRegexLength: 512,
  maxFilters: 100,
  maxInValues: 10_000,
  maxFilterBytes: 1_000_000,
  maxValuesInMemory: 5_000_000,
  maxFunnelSteps: 50,
});

export function resolveLimits(overrides?: Partial<QueryLimits>): QueryLimits {
  return { ...DEFAULT_QUERY_LIMITS, ...(overrides ?? {}) };
}
