import { parseFilters } from '../filters/parse-filters';
import { Filter } from '../filters/filter.types';
import { QueryLimits, resolveLimits } from '../query-limits';
import { parseTimeframe, Timeframe } from '../timeframe/timeframe';
import { parseTimezone, QueryTimezone } from '../timeframe/timezone';
import { Params } from './params';

/** Which events of a collection an operation applies to (filtered deletes). */
export interface EventSelection {
  filters: Filter[];
  timeframe?: Timeframe;
  timezone: QueryTimezone;
}

/**
 * `filters`, `timeframe` and `timezone` as DELETE sends them (query string)
 * or as a JSON body would, validated exactly like a query's.
 */
export function parseEventSelection(params: Params, limits?: Partial<QueryLimits>): EventSelection {
  const l = resolveLimits(limits);
  const timezone = parseTimezone(params.timezone);
  const timeframe = parseTimeframe(params.timeframe, timezone);
  const filters = parseFilters(params.filters, 'filters', {
    maxFilters: l.maxFilters,
    maxRegexLength: l.maxRegexLength,
  });
  return { filters, timezone, ...(timeframe ? { timeframe } : {}) };
}
