import { DateTime } from 'luxon';
import { TallyError } from '@app/events';
import { overLimit, QueryErrorCode } from '../query-errors';
import { addUnits, MAX_UNIT_MS, TimeUnit } from './time-unit';
import { TimeRange } from './timeframe';
import { QueryTimezone, zoneOf } from './timezone';

export interface Interval {
  raw: string;
  unit: TimeUnit;
  count: number;
}

const NAMED: Record<string, TimeUnit> = {
  minutely: 'minute',
  hourly: 'hour',
  daily: 'day',
  weekly: 'week',
  monthly: 'month',
  yearly: 'year',
};

const EVERY = /^every_(\d+)_(minute|hour|day|week|month|year)s?$/;

export function parseInterval(raw: unknown, param = 'interval'): Interval | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const bad = () =>
    new TallyError(
      'invalid',
      QueryErrorCode.interval,
      `${param} must be minutely, hourly, daily, weekly, monthly, yearly or every_N_<unit>`,
    );
  if (typeof raw !== 'string') throw bad();
  const name = raw.trim().toLowerCase();
  if (Object.hasOwn(NAMED, name)) return { raw, unit: NAMED[name], count: 1 };
  const m = EVERY.exec(name);
  if (!m) throw bad();
  const count = Number(m[1]);
  if (count < 1 || count > 1_000_000) throw bad();
  return { raw, unit: m[2] as TimeUnit, count };
}

/**
 * Bucket edges for a series: edges[i]..edges[i+1] is bucket i. Buckets start
 * at the timeframe's start and step by the interval in the query's timezone
 * (so daily buckets stay on local midnight across DST); the last bucket is
 * clipped to the timeframe's end. Each edge is computed from the start, not
 * from the previous edge, so month steps from the 31st do not drift.
 */
export function bucketEdges(
  range: TimeRange,
  interval: Interval,
  timezone: QueryTimezone,
  maxBuckets: number,
): number[] {
  const tooMany = () =>
    overLimit(
      `interval "${interval.raw}" over this timeframe gives more than the limit of ${maxBuckets} buckets`,
    );
  // Cheap bound first so an absurd request fails before any date arithmetic.
  const maxBucketMs = MAX_UNIT_MS[interval.unit] * interval.count;
  if ((range.end - range.start) / maxBucketMs > maxBuckets) throw tooMany();
  const origin = DateTime.fromMillis(range.start, { zone: zoneOf(timezone) });
  const edges = [range.start];
  for (let i = 1; edges[edges.length - 1] < range.end; i++) {
    if (edges.length > maxBuckets) throw tooMany();
    const next = addUnits(origin, interval.unit, i * interval.count).toMillis();
    edges.push(Math.min(next, range.end));
  }
  return edges;
}

/** Index of the bucket holding `t` (binary search), or −1 outside the series. */
export function bucketIndex(edges: number[], t: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  if (t < edges[0] || t >= edges[hi]) return -1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}
