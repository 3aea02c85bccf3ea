import { DateTime } from 'luxon';
import { JsonObject, propertyNameProblem, TallyError } from '@app/events';
import {
  addUnits,
  MetricQuery,
  parseQuery,
  QueryLimits,
  resolveTimeframe,
  startOfUnit,
  TimeRange,
  TimeUnit,
  zoneOf,
} from '@app/query-engine';
import { DatasetDefinition } from '@app/storage';

/**
 * A cached dataset: a metric query with an `interval` (the bucket) and a
 * relative `timeframe` (the window kept, e.g. this_90_days), computed per
 * value of its `index_by` properties. Checked in full before it is stored.
 */
export const MAX_INDEX_BY = 5;
/** Buckets in a dataset's window: hourly over two years fits. */
export const MAX_WINDOW_BUCKETS = 20_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const UNITS: readonly TimeUnit[] = ['hour', 'day', 'week', 'month', 'year'];
const FIELDS = new Set(['display_name', 'query', 'index_by']);
/** Fields of a definition as GET answers it, which a client may send back unchanged. */
const ECHOED = new Set([
  'project_id',
  'dataset_name',
  'created_date',
  'last_modified_date',
  'status',
  'buckets_pending',
]);

export function invalidDataset(message: string): TallyError {
  return new TallyError('invalid', 'InvalidDatasetError', message);
}

export function assertDatasetName(name: string): void {
  if (!NAME.test(name)) {
    throw invalidDataset(
      'A dataset name is 1 to 100 letters, digits, "_", "-" or ".", starting with a letter or digit.',
    );
  }
}

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The dataset's query as the engine reads it (checked when the dataset was stored). */
export function datasetQuery(definition: DatasetDefinition, limits: Partial<QueryLimits> = {}) {
  const query = parseQuery(
    String(definition.query.analysis_type),
    definition.query,
    limits,
  ) as MetricQuery;
  return query;
}

export function parseDatasetBody(
  projectId: string,
  name: string,
  body: unknown,
  now: Date,
  limits: Partial<QueryLimits> = {},
): DatasetDefinition {
  assertDatasetName(name);
  if (!isObject(body))
    throw invalidDataset('A dataset is a JSON object: display_name, query, index_by.');
  for (const key of Object.keys(body)) {
    if (!FIELDS.has(key) && !ECHOED.has(key)) {
      throw invalidDataset(
        `The dataset has an unknown field "${key.slice(0, 100)}"; the fields are display_name, query, index_by.`,
      );
    }
  }
  const displayName = body.display_name ?? name;
  if (typeof displayName !== 'string' || displayName.length === 0 || displayName.length > 256) {
    throw invalidDataset('"display_name" must be a string of 1 to 256 characters.');
  }
  const indexBy = typeof body.index_by === 'string' ? [body.index_by] : body.index_by;
  if (
    !Array.isArray(indexBy) ||
    indexBy.length === 0 ||
    indexBy.length > MAX_INDEX_BY ||
    indexBy.some((p) => typeof p !== 'string' || p.length === 0 || p.length > 1024)
  ) {
    throw invalidDataset(
      `"index_by" must be a property name or a list of 1 to ${MAX_INDEX_BY} of them.`,
    );
  }
  for (const path of indexBy as string[]) {
    const problem = path.split('.').map(propertyNameProblem).find(Boolean);
    if (problem) throw invalidDataset(`"index_by" property "${path.slice(0, 100)}" ${problem}.`);
  }
  if (new Set(indexBy).size !== indexBy.length)
    throw invalidDataset('"index_by" names a property twice.');
  if (!isObject(body.query))
    throw invalidDataset('"query" must be a JSON object with the analysis.');
  const raw = body.query;
  const analysis = raw.analysis_type;
  if (typeof analysis !== 'string') throw invalidDataset('"query.analysis_type" is required.');
  if (['extraction', 'funnel', 'multi_analysis'].includes(analysis)) {
    throw invalidDataset(
      `A dataset's analysis is a metric (count, sum, …); ${analysis} is not one.`,
    );
  }
  for (const refused of ['order_by', 'limit', 'max_age', 'email']) {
    if (raw[refused] !== undefined)
      throw invalidDataset(`A dataset's query takes no "${refused}".`);
  }
  const query = parseQuery(analysis, raw, limits) as MetricQuery;
  if (!query.interval || query.interval.count !== 1 || !UNITS.includes(query.interval.unit)) {
    throw invalidDataset(
      'A dataset\'s query needs an "interval": hourly, daily, weekly, monthly or yearly (its buckets).',
    );
  }
  if (!query.timeframe || query.timeframe.kind !== 'relative') {
    throw invalidDataset(
      'A dataset\'s query needs a relative "timeframe" such as this_90_days: the window of buckets it keeps.',
    );
  }
  const overlap = (query.group_by ?? []).find((g) => (indexBy as string[]).includes(g));
  if (overlap) throw invalidDataset(`"${overlap.slice(0, 100)}" is in both index_by and group_by.`);
  const definition: DatasetDefinition = {
    projectId,
    name,
    displayName,
    query: raw,
    indexBy: indexBy as string[],
    collection: query.event_collection,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  const window = datasetWindow(definition, now.getTime());
  // The window moves with the clock: its start must be on the grid whenever it
  // is computed, not only now (this_7_hours with daily buckets starts on a day
  // at 06:00 UTC and on no day an hour later). One step of each timeframe unit
  // moves a start that is only sometimes on the grid off it.
  if (
    GRID_PROBES_MS.some(
      (offset) => !onGrid(definition, datasetWindow(definition, now.getTime() + offset).start),
    )
  ) {
    throw invalidDataset(
      `The timeframe "${query.timeframe.raw}" does not start on a bucket of the interval "${query.interval.raw}" ` +
        '(e.g. this_N_days with daily or hourly buckets).',
    );
  }
  if (datasetBuckets(definition, window.start, window.end, window).length > MAX_WINDOW_BUCKETS) {
    throw invalidDataset(
      `The window holds more than ${MAX_WINDOW_BUCKETS} buckets; shorten it or widen the interval.`,
    );
  }
  return definition;
}

/** When a definition's window start is checked, from now: a minute, an hour, a day, a week, a month later. */
const GRID_PROBES_MS = [0, 60_000, 3_600_000, 86_400_000, 7 * 86_400_000, 31 * 86_400_000];

/** The window of buckets the dataset keeps, at `now`. */
export function datasetWindow(definition: DatasetDefinition, now: number): TimeRange {
  const query = datasetQuery(definition);
  return resolveTimeframe(query.timeframe, query.timezone, now)!;
}

function unitAndZone(definition: DatasetDefinition) {
  const query = datasetQuery(definition);
  return { unit: query.interval!.unit, zone: zoneOf(query.timezone) };
}

/** Whether `ms` is the start of a bucket. */
export function onGrid(definition: DatasetDefinition, ms: number): boolean {
  const { unit, zone } = unitAndZone(definition);
  return startOfUnit(DateTime.fromMillis(ms, { zone }), unit).toMillis() === ms;
}

/**
 * The whole buckets overlapping [fromMs, toMs), within the window: a bucket is
 * [start of its unit, start of the next) in the query's timezone.
 */
export function datasetBuckets(
  definition: DatasetDefinition,
  fromMs: number,
  toMs: number,
  window: TimeRange,
): { startMs: number; endMs: number }[] {
  const from = Math.max(fromMs, window.start);
  const to = Math.min(toMs, window.end);
  if (from >= to) return [];
  const { unit, zone } = unitAndZone(definition);
  const out: { startMs: number; endMs: number }[] = [];
  const origin = startOfUnit(DateTime.fromMillis(from, { zone }), unit);
  for (let i = 0; ; i++) {
    const startMs = addUnits(origin, unit, i).toMillis();
    if (startMs >= to) break;
    const endMs = addUnits(origin, unit, i + 1).toMillis();
    out.push({ startMs, endMs });
    if (out.length > MAX_WINDOW_BUCKETS) break;
  }
  return out;
}
