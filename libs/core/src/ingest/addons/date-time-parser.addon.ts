import { JsonObject, parseIsoTimestamp } from '@app/events';

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const DAY_MS = 86_400_000;
// The written offset: `Z`, `±HH`, `±HHMM` or `±HH:MM` after a time.
const OFFSET = /(?:[T\s]\d{2}(?::?\d{2}){0,2}(?:[.,]\d+)?)(Z|([+-])(\d{2}):?(\d{2})?)$/i;

/** Minutes east of UTC the value was written in (0 for `Z` or no offset). */
function offsetMinutes(value: string): number {
  const match = OFFSET.exec(value.trim());
  if (!match || match[1].toUpperCase() === 'Z') return 0;
  const minutes = Number(match[3]) * 60 + Number(match[4] ?? 0);
  return match[2] === '-' ? -minutes : minutes;
}

/** ISO 8601 week number of a wall-clock date (its days counted in UTC). */
function isoWeek(wall: Date, isoWeekday: number): number {
  // The week belongs to the year of its Thursday.
  const thursday = new Date(wall.getTime() + (4 - isoWeekday) * DAY_MS);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 19xx.
  const yearStart = new Date(0).setUTCFullYear(thursday.getUTCFullYear(), 0, 1);
  return Math.floor((thursday.getTime() - yearStart) / DAY_MS / 7) + 1;
}

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
  if (typeof value !== 'string') return undefined;
  // The same rules as keen.timestamp: bounded length, offsets within ±18:00, years 1-9999.
  const ms = parseIsoTimestamp(value);
  if (Number.isNaN(ms)) return undefined;
  const offset = offsetMinutes(value);
  // The wall clock as written, read through the UTC getters.
  const wall = new Date(ms + offset * 60_000);
  const weekday = ((wall.getUTCDay() + 6) % 7) + 1;
  return {
    millisecond: wall.getUTCMilliseconds(),
    second: wall.getUTCSeconds(),
    minute: wall.getUTCMinutes(),
    hour: wall.getUTCHours(),
    day_of_week: weekday,
    day_of_week_string: DAY_NAMES[weekday - 1],
    day_of_month: wall.getUTCDate(),
    week: isoWeek(wall, weekday),
    month: wall.getUTCMonth() + 1,
    year: wall.getUTCFullYear(),
    timezone_offset: offset / 60,
  };
}
