import { FixedOffsetZone, IANAZone, Zone } from 'luxon';
import { TallyError } from '@app/events';
import { QueryErrorCode } from '../query-errors';
import { unquoteParamString } from '../param-json';

/**
 * A validated timezone, kept as a string so parsed queries stay plain data:
 * `UTC`, a fixed offset `UTC+5:30`, or an IANA name (`America/New_York`).
 */
export type QueryTimezone = string;

export const UTC: QueryTimezone = 'UTC';

/** Real offsets span −12:00..+14:00; a little slack, but not nonsense. */
const MAX_OFFSET_SECONDS = 18 * 3600;

/**
 * Keen's `timezone`: a number of seconds east of UTC (keen-analysis sends the
 * browser's offset as a number; query strings carry it as text) or an IANA
 * name. Offsets are rounded to whole minutes, the finest any zone uses.
 */
export function parseTimezone(given: unknown, param = 'timezone'): QueryTimezone {
  const raw = unquoteParamString(given);
  if (raw === undefined || raw === null || raw === '') return UTC;
  const bad = () =>
    new TallyError(
      'invalid',
      QueryErrorCode.timezone,
      `${param} must be an offset in seconds or an IANA timezone name`,
    );
  let seconds: number | undefined;
  if (typeof raw === 'number') seconds = raw;
  else if (typeof raw === 'string' && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(raw)) seconds = Number(raw);
  if (seconds !== undefined) {
    if (!Number.isFinite(seconds) || Math.abs(seconds) > MAX_OFFSET_SECONDS) throw bad();
    return FixedOffsetZone.instance(Math.round(seconds / 60)).name;
  }
  if (typeof raw !== 'string') throw bad();
  const name = raw.trim();
  if (/^(utc|gmt|z)$/i.test(name)) return UTC;
  if (!IANAZone.isValidZone(name)) throw bad();
  return name;
}

const zones = new Map<string, Zone>();

export function zoneOf(tz: QueryTimezone): Zone {
  let z = zones.get(tz);
  if (!z) {
    z = tz.startsWith('UTC')
      ? (FixedOffsetZone.parseSpecifier(tz) ?? FixedOffsetZone.utcInstance)
      : IANAZone.create(tz);
    zones.set(tz, z);
  }
  return z;
}
