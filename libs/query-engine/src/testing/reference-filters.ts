/** Filter semantics of the reference evaluator, written from docs/query-language.md. */
import { JsonObject, JsonValue } from '@app/events';
import { RE2JS } from 're2js';
import { Filter } from '../filters/filter.types';
import { lookup, sameJson } from './reference-json';

export function passes(f: Filter, event: JsonObject): boolean {
  if (f.operator === 'or') return (f.operands ?? []).some((o) => passes(o, event));
  const actual = lookup(event, f.property_name);
  const want = f.property_value === undefined ? null : f.property_value;
  if (f.operator === 'exists') return (actual !== undefined) === (want === true);
  if (actual === undefined) return f.operator === 'ne' || f.operator === 'not_contains';
  switch (f.operator) {
    case 'eq':
      return refEquals(actual, want);
    case 'ne':
      return !refEquals(actual, want);
    case 'in':
      return (want as JsonValue[]).some((w) => refEquals(actual, w));
    case 'lt':
      return anyOrdered(actual, want, (c) => c < 0);
    case 'lte':
      return anyOrdered(actual, want, (c) => c <= 0);
    case 'gt':
      return anyOrdered(actual, want, (c) => c > 0);
    case 'gte':
      return anyOrdered(actual, want, (c) => c >= 0);
    case 'contains':
      return refContains(actual, want);
    case 'not_contains':
      return !refContains(actual, want);
    case 'regex': {
      const re = RE2JS.compile(want as string);
      const strings = Array.isArray(actual) ? actual : [actual];
      return strings.some((s) => typeof s === 'string' && re.test(s));
    }
    case 'within': {
      const spec = want as { coordinates: number[]; max_distance_miles: number };
      if (!Array.isArray(actual) || actual.length < 2) return false;
      if (typeof actual[0] !== 'number' || typeof actual[1] !== 'number') return false;
      return (
        miles(spec.coordinates[0], spec.coordinates[1], actual[0], actual[1]) <=
        spec.max_distance_miles
      );
    }
  }
  return false;
}

function refEquals(actual: JsonValue, want: JsonValue): boolean {
  if (Array.isArray(actual)) {
    if (sameJson(actual, want)) return true;
    return actual.some((el) => !Array.isArray(el) && scalarEquals(el, want));
  }
  return scalarEquals(actual, want);
}

function scalarEquals(a: JsonValue, w: JsonValue): boolean {
  if (typeof a === 'number') {
    if (typeof w === 'number') return a === w;
    if (typeof w === 'string' && asNumber(w) !== undefined) return a === asNumber(w);
    return false;
  }
  if (typeof a === 'string') {
    if (typeof w === 'string') {
      if (a === w) return true;
      const ta = asInstant(a);
      const tw = asInstant(w);
      return ta !== undefined && tw !== undefined && ta === tw;
    }
    if (typeof w === 'number') return asNumber(a) === w;
    return false;
  }
  if (typeof a === 'boolean') return a === w;
  if (a === null) return w === null;
  return sameJson(a, w);
}

function anyOrdered(actual: JsonValue, want: JsonValue, ok: (c: number) => boolean): boolean {
  const candidates = Array.isArray(actual) ? actual : [actual];
  return candidates.some((a) => {
    const c = order(a, want);
    return c !== undefined && ok(c);
  });
}

function order(a: JsonValue, w: JsonValue): number | undefined {
  if (typeof a === 'number') {
    if (typeof w === 'number') return a - w;
    if (typeof w === 'string' && asNumber(w) !== undefined) return a - (asNumber(w) as number);
    return undefined;
  }
  if (typeof a === 'string') {
    if (typeof w === 'string') {
      const ta = asInstant(a);
      const tw = asInstant(w);
      if (ta !== undefined && tw !== undefined) return ta - tw;
      return a === w ? 0 : a < w ? -1 : 1;
    }
    if (typeof w === 'number') {
      const n = asNumber(a);
      return n === undefined ? undefined : n - w;
    }
    return undefined;
  }
  if (typeof a === 'boolean' && typeof w === 'boolean') return (a ? 1 : 0) - (w ? 1 : 0);
  return undefined;
}

function refContains(actual: JsonValue, want: JsonValue): boolean {
  if (typeof actual === 'string') {
    if (typeof want === 'string') return actual.indexOf(want) >= 0;
    if (typeof want === 'number' || typeof want === 'boolean')
      return actual.indexOf(String(want)) >= 0;
    return false;
  }
  if (Array.isArray(actual)) return refEquals(actual, want);
  return false;
}

function asNumber(s: string): number | undefined {
  const t = s.trim();
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  const n = parseFloat(t);
  return isFinite(n) ? n : undefined;
}

/** ISO date or date-time; offset-less means UTC. Validated by a UTC round trip. */
function asInstant(s: string): number | undefined {
  const m =
    /^(\d\d\d\d)-(\d\d)-(\d\d)(?:[Tt ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?(Z|z|[+-]\d\d(?::?\d\d)?)?$/.exec(
      s,
    );
  if (!m) return undefined;
  if (m[7] !== undefined && m[7].length > 9) return undefined;
  const frac = m[7] === undefined ? '000' : (m[7] + '000').substring(0, 3);
  const base = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}.${frac}Z`;
  const t = Date.parse(base);
  if (isNaN(t) || new Date(t).toISOString() !== base) return undefined;
  let offsetMinutes = 0;
  const z = m[8];
  if (z && z !== 'Z' && z !== 'z') {
    const digits = z.substring(1).replace(':', '');
    const hours = Number(digits.substring(0, 2));
    const minutes = digits.length > 2 ? Number(digits.substring(2)) : 0;
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (z[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return t - offsetMinutes * 60000;
}

function miles(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const r = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 3958.7613 * Math.asin(Math.min(1, Math.sqrt(a)));
}
