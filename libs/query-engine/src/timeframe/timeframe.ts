import { DateTime } from 'luxon';
import { TallyError } from '@app/events';
import { QueryErrorCode } from '../query-errors';
import { parseParamJson, unquoteParamString } from '../param-json';
import { addUnits, startOfUnit, TimeUnit } from './time-unit';
import { QueryTimezone, zoneOf } from './timezone';

export type Timeframe = RelativeTimeframe | AbsoluteTimeframe;

export interface RelativeTimeframe {
  kind: 'relative';
  /** As the client sent it, echoed in funnel steps. */
  raw: string;
  /** `this` includes the current (partial) unit; `previous` ends where it starts. */
  edge: 'this' | 'previous';
  count: number;
  unit: TimeUnit;
}

export interface AbsoluteTimeframe {
  kind: 'absolute';
  raw: { start: string; end: string };
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

/** Half-open [start, end) in epoch ms. */
export interface TimeRange {
  start: number;
  end: number;
}

const RELATIVE_N = /^(this|previous)_(\d+)_(minute|hour|day|week|month|year)s?$/;
const RELATIVE_1 = /^(this|previous)_(minute|hour|day|week|month|year)$/;
const MIN_BOUND_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_BOUND_MS = 253_402_300_800_000; // 10000-01-01T00:00:00Z (an exclusive end)
/** Keeps luxon arithmetic well inside its valid date range. */
const MAX_RELATIVE_COUNT = 100_000;

const bad = (message: string) => new TallyError('invalid', QueryErrorCode.timeframe, message);

/**
 * Parses `timeframe` in any transport form: a relative name (`this_7_days`,
 * `previous_month`, `today`, `yesterday`), an object `{start, end}`, or that
 * object as JSON text (GET). Absolute bounds without an offset are read in
 * the query's timezone. Returns undefined when absent (all time).
 */
export function parseTimeframe(
  raw: unknown,
  timezone: QueryTimezone,
  param = 'timeframe',
): Timeframe | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let value: unknown = unquoteParamString(raw);
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) {
      value = parseParamJson(
        text,
        param,
        bad,
        `${param} is neither a relative timeframe nor a JSON {start, end} object`,
      );
    } else {
      return parseRelative(text, param);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`${param} must be a relative timeframe like "this_7_days" or {start, end}`);
  }
  const { start, end } = value as Record<string, unknown>;
  const s = parseBound(start, timezone, `${param}.start`);
  const e = parseBound(end, timezone, `${param}.end`);
  if (s > e) throw bad(`${param}.start must not be after ${param}.end`);
  return {
    kind: 'absolute',
    raw: { start: start as string, end: end as string },
    start: s,
    end: e,
  };
}

function parseRelative(text: string, param: string): RelativeTimeframe {
  const name = text.toLowerCase();
  if (name === 'today') return { kind: 'relative', raw: text, edge: 'this', count: 1, unit: 'day' };
  if (name === 'yesterday') {
    return { kind: 'relative', raw: text, edge: 'previous', count: 1, unit: 'day' };
  }
  let m = RELATIVE_N.exec(name);
  if (m) {
    const count = Number(m[2]);
    if (count < 1 || count > MAX_RELATIVE_COUNT) {
      throw bad(`${param}: the count in "${text}" must be between 1 and ${MAX_RELATIVE_COUNT}`);
    }
    return { kind: 'relative', raw: text, edge: m[1] as 'this', count, unit: m[3] as TimeUnit };
  }
  m = RELATIVE_1.exec(name);
  if (m)
    return { kind: 'relative', raw: text, edge: m[1] as 'this', count: 1, unit: m[2] as TimeUnit };
  throw bad(
    `${param} "${text}" is not a timeframe: use this_N_<unit>, previous_N_<unit>, ` +
      'this_<unit>, previous_<unit>, today, yesterday (units: minutes..years) or {start, end}',
  );
}

function parseBound(v: unknown, timezone: QueryTimezone, at: string): number {
  if (typeof v !== 'string' || v.trim() === '') throw bad(`${at} must be an ISO-8601 datetime`);
  const dt = DateTime.fromISO(v.trim(), { zone: zoneOf(timezone) });
  if (!dt.isValid) throw bad(`${at} "${v.slice(0, 80)}" is not an ISO-8601 datetime`);
  const ms = dt.toMillis();
  // Events live in years 0001–9999 (see parseIsoTimestamp); bounds far beyond
  // that would step interval arithmetic past the end of Date's range.
  if (ms < MIN_BOUND_MS || ms > MAX_BOUND_MS) {
    throw bad(`${at} "${v.slice(0, 80)}" is outside the supported years 0001–9999`);
  }
  return ms;
}

/**
 * Turns a timeframe into concrete [start, end) epoch ms at `now`.
 * `this_N_<unit>`: the current unit plus N−1 whole ones before it, ending at the
 * start of the next unit (the current unit is partial only because the
 * future holds no events). `previous_N_<unit>`: the N whole units before the
 * current one. Edges are unit boundaries in the query's timezone.
 */
export function resolveTimeframe(
  timeframe: Timeframe | undefined,
  timezone: QueryTimezone,
  now: Date | number,
): TimeRange | undefined {
  if (!timeframe) return undefined;
  if (timeframe.kind === 'absolute') return { start: timeframe.start, end: timeframe.end };
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const current = startOfUnit(
    DateTime.fromMillis(nowMs, { zone: zoneOf(timezone) }),
    timeframe.unit,
  );
  const { unit, count } = timeframe;
  const start =
    timeframe.edge === 'this'
      ? addUnits(current, unit, -(count - 1))
      : addUnits(current, unit, -count);
  const end = timeframe.edge === 'this' ? addUnits(current, unit, 1) : current;
  if (!start.isValid || !end.isValid)
    throw bad(`timeframe "${timeframe.raw}" reaches outside the supported date range`);
  return { start: start.toMillis(), end: end.toMillis() };
}
