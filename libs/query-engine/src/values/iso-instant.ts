/**
 * Strict ISO-8601 datetime recognition for filter comparisons. Hand-written
 * rather than Date.parse because Date.parse reads offset-less date-times as
 * *local* time (server-dependent) and accepts many non-ISO shapes; this runs
 * per event, so it bails out on the first character that cannot be a date.
 * Accepts `YYYY-MM-DD`, optionally `[T ]hh:mm[:ss[.fraction]]`, optionally
 * `Z` or `±hh[:mm]`. Offset-less values are UTC.
 */
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** 400 years, the Gregorian cycle: used to dodge Date.UTC's 0–99 → 1900s mapping. */
const GREGORIAN_CYCLE_MS = 146097 * 86_400_000;

export function parseIsoInstant(s: string): number | undefined {
  // Cheap rejection before the regex: every accepted form has '-' at index 4.
  if (s.length < 10 || s.charCodeAt(4) !== 45) return undefined;
  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  const ms = m[7] === undefined ? 0 : +(m[7] + '00').slice(0, 3);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[9] !== undefined) {
    const oh = +m[10];
    const om = m[11] === undefined ? 0 : +m[11];
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  let t: number;
  if (year < 100) {
    t = Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - GREGORIAN_CYCLE_MS;
  } else {
    t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  }
  return t - offsetMin * 60_000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
