import { TallyError } from '@app/events';
import { parseFilters, ParseFilterOptions } from '../filters/parse-filters';
import { QueryErrorCode, badParam, overLimit } from '../query-errors';
import { QueryLimits, resolveLimits } from '../query-limits';
import {
  AnalysisType,
  ExtractionQuery,
  FunnelQuery,
  MetricAnalysisType,
  MetricQuery,
  MetricSpec,
  MultiAnalysisQuery,
  Query,
} from '../query.types';
import { parseTimeframe } from '../timeframe/timeframe';
import { parseTimezone } from '../timeframe/timezone';
import { parseFunnelSteps } from './parse-funnel';
import { parseGrouping } from './parse-grouping';
import {
  booleanParam,
  isAbsent,
  isPropertyPath,
  jsonParam,
  numberParam,
  Params,
  stringListParam,
  stringParam,
} from './params';

export const METRIC_ANALYSES: readonly MetricAnalysisType[] = [
  'count',
  'count_unique',
  'sum',
  'average',
  'minimum',
  'maximum',
  'median',
  'percentile',
  'standard_deviation',
  'select_unique',
];

export const ANALYSIS_TYPES: readonly AnalysisType[] = [
  ...METRIC_ANALYSES,
  'extraction',
  'funnel',
  'multi_analysis',
];

/**
 * Analyses in one multi_analysis. Every label is one more accumulator per
 * group and interval bucket (and one more member in every result row), so an
 * uncapped object multiplied the interval and group caps: 5,000 labels over
 * 2,500 daily buckets built a 110 MB answer and held the process for seconds.
 */
export const MAX_MULTI_ANALYSES = 100;

const isMetric = (t: string): t is MetricAnalysisType =>
  (METRIC_ANALYSES as readonly string[]).includes(t);

/**
 * Validates a query from the URL's analysis name and its parameters, given
 * either as a GET query string (all strings, structures as JSON text) or as
 * a POST JSON body (real types; keen-analysis also sends `analysis_type`,
 * which the path already states and is ignored). Every rejection is a 400
 * naming the parameter; an unknown analysis is a 404 like Keen's.
 */
export function parseQuery(
  analysisType: string,
  clientParams: Params,
  limits?: Partial<QueryLimits>,
): Query {
  // Read through a null-prototype copy: a parameter the client did not send
  // is absent, never something inherited.
  const params: Params = Object.assign(Object.create(null), clientParams);
  const l = resolveLimits(limits);
  const filterOptions: ParseFilterOptions = {
    maxFilters: l.maxFilters,
    maxRegexLength: l.maxRegexLength,
  };
  const type = analysisType.trim().toLowerCase();
  const include_metadata = booleanParam(params, 'include_metadata') ?? false;
  const max_age = numberParam(params, 'max_age', { min: 0 });
  const common = { include_metadata, ...(max_age !== undefined ? { max_age } : {}) };

  if (type === 'funnel') {
    rejectPresent(params, ['group_by', 'interval', 'order_by', 'limit'], 'funnel');
    const timezone = parseTimezone(params.timezone);
    const query: FunnelQuery = {
      analysis_type: 'funnel',
      timezone,
      timeframe: parseTimeframe(params.timeframe, timezone),
      steps: parseFunnelSteps(params, l.maxFunnelSteps, filterOptions),
      ...common,
    };
    return query;
  }
  if (!isMetric(type) && type !== 'extraction' && type !== 'multi_analysis') {
    throw new TallyError(
      'not_found',
      QueryErrorCode.notFound,
      `Unknown analysis type "${analysisType}"`,
    );
  }

  const event_collection = stringParam(params, 'event_collection', true) as string;
  const timezone = parseTimezone(params.timezone);
  const timeframe = parseTimeframe(params.timeframe, timezone);
  const filters = parseFilters(params.filters, 'filters', filterOptions);
  const scope = {
    event_collection,
    timezone,
    filters,
    ...(timeframe ? { timeframe } : {}),
    ...common,
  };

  if (type === 'extraction') {
    rejectPresent(params, ['group_by', 'interval', 'order_by', 'limit'], 'extraction');
    const query: ExtractionQuery = { analysis_type: 'extraction', ...scope };
    const latest = numberParam(params, 'latest', { integer: true, min: 1 });
    if (latest !== undefined) query.latest = latest;
    const names = stringListParam(params, 'property_names');
    if (names) query.property_names = names;
    for (const key of ['email', 'content_type', 'content_encoding'] as const) {
      const v = stringParam(params, key, false);
      if (v !== undefined) query[key] = v;
    }
    return query;
  }

  if (type === 'multi_analysis') {
    const analyses = parseAnalyses(params);
    const grouping = parseGrouping(params, timeframe, Object.keys(analyses));
    for (const g of grouping.group_by ?? []) {
      if (Object.hasOwn(analyses, g)) throw badParam(`analyses label "${g}" collides with a group_by property`);
    }
    const query: MultiAnalysisQuery = {
      analysis_type: 'multi_analysis',
      analyses,
      ...scope,
      ...defined(grouping),
    };
    return query;
  }

  const metric = parseMetricSpec(type, params, '');
  const grouping = parseGrouping(params, timeframe, ['result']);
  const query: MetricQuery = { ...metric, ...scope, ...defined(grouping) };
  return query;
}

function parseMetricSpec(type: MetricAnalysisType, params: Params, prefix: string): MetricSpec {
  const spec: MetricSpec = { analysis_type: type };
  if (type !== 'count') {
    const target = params.target_property;
    if (isAbsent(target)) throw badParam(`${prefix}target_property is required for ${type}`);
    if (!isPropertyPath(target)) throw badParam(`${prefix}target_property must be a property name`);
    spec.target_property = target;
  }
  if (type === 'percentile') {
    const name = `${prefix}percentile`;
    const p = numberParam({ [name]: params.percentile }, name, { min: 0, max: 100 });
    if (p === undefined) throw badParam(`${prefix}percentile is required for percentile (0-100)`);
    spec.percentile = p;
  }
  return spec;
}

function parseAnalyses(params: Params): Record<string, MetricSpec> {
  const raw = jsonParam(params, 'analyses');
  if (isAbsent(raw)) throw badParam('analyses is required for multi_analysis');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badParam('analyses must be an object of label → {analysis_type, target_property}');
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw badParam('analyses must name at least one analysis');
  if (entries.length > MAX_MULTI_ANALYSES) {
    throw overLimit(
      `analyses names ${entries.length} analyses, more than the limit of ${MAX_MULTI_ANALYSES} in one multi_analysis`,
    );
  }
  // Labels are the client's keys: a null-prototype map keeps `__proto__` or
  // `constructor` as ordinary labels.
  const out = Object.create(null) as Record<string, MetricSpec>;
  for (const [label, def] of entries) {
    const at = `analyses.${label}`;
    if (label === '' || label === 'timeframe' || label === 'value') {
      throw badParam(`analyses label "${label}" is not allowed`);
    }
    if (def === null || typeof def !== 'object' || Array.isArray(def)) {
      throw badParam(`${at} must be an object {analysis_type, target_property}`);
    }
    const d = def as Record<string, unknown>;
    const t = typeof d.analysis_type === 'string' ? d.analysis_type.trim().toLowerCase() : '';
    if (!isMetric(t))
      throw badParam(`${at}.analysis_type must be one of ${METRIC_ANALYSES.join(', ')}`);
    out[label] = parseMetricSpec(t, d, `${at}.`);
  }
  return out;
}

function rejectPresent(params: Params, names: string[], type: string): void {
  for (const n of names) {
    if (!isAbsent(params[n])) throw badParam(`${n} is not supported for ${type}`);
  }
}

/** Drops undefined members so parsed queries compare and serialise cleanly. */
function defined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
