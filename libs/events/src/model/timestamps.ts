import { DateTime } from 'luxon';

/**
 * Parses an ISO-8601 timestamp; one without an offset (Python's isoformat())
 * is read as UTC, never as the server's local time. Returns epoch ms or NaN.
 */
export function parseIsoTimestamp(value: string): number {
  if (value.length > 64) return NaN;
  const parsed = DateTime.fromISO(value, { zone: 'utc', setZone: true });
  return parsed.isValid ? parsed.toMillis() : NaN;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}
