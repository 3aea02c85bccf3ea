import { DateTime } from 'luxon';
import { JsonObject, parseIsoTimestamp } from '@app/events';

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * `keen:date_time_parser`: the parts of an ISO-8601 date-time (keen.timestamp
 * or any property holding one) as Keen lists them: millisecond, second,
 * minute, hour (0-23), day_of_week (ISO: 1 Monday … 7 Sunday),
 * day_of_week_string, day_of_month, week (ISO week number), month (1-12),
 * year and timezone_offset (hours from UTC). The parts are those of the
 * date-time as written, in its own offset; one without an offset is UTC, as
 * keen.timestamp is read. A value that is not such a date-time adds nothing.
 */
export function dateTimeParser(value: unknown): JsonObject | undefined {
  // The same rules as keen.timestamp: bounded length, offsets within ±18:00, years 1-9999.
  if (typeof value !== 'string' || Number.isNaN(parseIsoTimestamp(value))) return undefined;
  const at = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  if (!at.isValid) return undefined;
  return {
    millisecond: at.millisecond,
    second: at.second,
    minute: at.minute,
    hour: at.hour,
    day_of_week: at.weekday,
    day_of_week_string: DAY_NAMES[at.weekday - 1],
    day_of_month: at.day,
    week: at.weekNumber,
    month: at.month,
    year: at.year,
    timezone_offset: at.offset / 60,
  };
}
