import { DateTime } from 'luxon';

export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

export const TIME_UNITS: readonly TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year'];

/**
 * Longest possible length of each unit (a DST day is 25 h), so that
 * range / MAX_UNIT_MS is a lower bound on the bucket count: a cheap early
 * refusal that never refuses a series within the limit.
 */
export const MAX_UNIT_MS: Record<TimeUnit, number> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 90_000_000,
  week: 7 * 90_000_000,
  month: 31 * 90_000_000,
  year: 366 * 90_000_000,
};

/**
 * Start of the unit containing `dt`, in dt's zone. Weeks start on Sunday
 * (Keen's documented convention), not luxon's ISO Monday.
 */
export function startOfUnit(dt: DateTime, unit: TimeUnit): DateTime {
  if (unit === 'week') {
    const day = dt.startOf('day');
    return day.minus({ days: day.weekday % 7 });
  }
  return dt.startOf(unit);
}

/**
 * `dt` moved by `n` units. luxon adds calendar units (day and up) in local
 * time, so days stay midnight-aligned across DST changes, and adds hours and
 * minutes as absolute time, which is what an hourly series means.
 */
export function addUnits(dt: DateTime, unit: TimeUnit, n: number): DateTime {
  switch (unit) {
    case 'minute':
      return dt.plus({ minutes: n });
    case 'hour':
      return dt.plus({ hours: n });
    case 'day':
      return dt.plus({ days: n });
    case 'week':
      return dt.plus({ weeks: n });
    case 'month':
      return dt.plus({ months: n });
    case 'year':
      return dt.plus({ years: n });
  }
}
