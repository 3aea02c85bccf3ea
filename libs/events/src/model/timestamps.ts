import { DateTime } from 'luxon';

// A trailing UTC offset (`+05:30`, `-0800`, `+09`); `Z` needs no check.
const OFFSET = /([+-])(\d{2}):?(\d{2})?$/;
/** Real offsets lie within ±14:00; ISO-8601 parsers in other languages stop at ±18:00. */
const MAX_OFFSET_MINUTES = 18 * 60;
/** Four-digit years: what every store, SDK and ISO-8601 printer round-trips. */
const MIN_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z (Date.UTC maps years 0–99 to 19xx)
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses an ISO-8601 timestamp; one without an offset (Python's isoformat())
 * is read as UTC, never as the server's local time. Returns epoch ms or NaN
 * (also for an offset beyond ±18:00 or a year outside 0001–9999).
 */
export function parseIsoTimestamp(value: string): number {
  if (value.length > 64) return NaN;
  const offset = OFFSET.exec(value.trim());
  if (offset && /T|\s/.test(value)) {
    const minutes = Number(offset[2]) * 60 + Number(offset[3] ?? 0);
    if (minutes > MAX_OFFSET_MINUTES || Number(offset[3] ?? 0) >= 60) return NaN;
  }
  const parsed = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  if (!parsed.isValid) return NaN;
  const ms = parsed.toMillis();
  return ms >= MIN_MS && ms <= MAX_MS ? ms : NaN;
}

// The last instant printed: every event of a batch carries the request's
// receipt time (and most its start time), so most calls repeat the last one.
let lastMs = NaN;
let lastIso = '';

export function toIso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
