import { JsonObject, JsonValue } from '@app/events';
import { RE2JS } from 're2js';
import { DEFAULT_QUERY_LIMITS } from '../query-limits';
import { badFilter, overLimit } from '../query-errors';
import { compilePath } from '../values/property-path';
import { haversineMiles } from './geo-distance';
import { InSet } from './in-set';
import { Filter } from './filter.types';
import { looseEquals, Operand, scalarOrder, toOperand } from './loose-compare';

export type EventPredicate = (event: JsonObject) => boolean;

export interface CompileFilterOptions {
  maxRegexLength?: number;
  /** Values in one `in` list (QueryLimits.maxInValues). */
  maxInValues?: number;
}

const ALWAYS: EventPredicate = () => true;

/**
 * Compiles Keen filters (AND-ed) into one closure, once per query, so the
 * per-event path does no parsing or dispatch on operator names. Semantics
 * (see docs/query-language.md): a comparison on a missing property is false,
 * except `ne`, `not_contains` and `exists:false`, which are true; array
 * properties match when any element matches.
 */
export function compileFilters(
  filters: Filter[],
  options: CompileFilterOptions = {},
): EventPredicate {
  const preds = filters.map((f) => compileFilter(f, options));
  if (preds.length === 0) return ALWAYS;
  if (preds.length === 1) return preds[0];
  if (preds.length === 2) {
    const [a, b] = preds;
    return (e) => a(e) && b(e);
  }
  return (e) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](e)) return false;
    return true;
  };
}

export function compileFilter(f: Filter, options: CompileFilterOptions = {}): EventPredicate {
  if (f.operator === 'or') {
    const subs = (f.operands ?? []).map((s) => compileFilter(s, options));
    return (e) => {
      for (let i = 0; i < subs.length; i++) if (subs[i](e)) return true;
      return false;
    };
  }
  const get = compilePath(f.property_name);
  const value = f.property_value === undefined ? null : f.property_value;
  switch (f.operator) {
    case 'eq': {
      const exp = toOperand(value);
      return (e) => {
        const a = get(e);
        return a !== undefined && looseEquals(a, exp);
      };
    }
    case 'ne': {
      const exp = toOperand(value);
      return (e) => {
        const a = get(e);
        return a === undefined || !looseEquals(a, exp);
      };
    }
    case 'lt':
      return ordering(get, toOperand(value), (c) => c < 0);
    case 'lte':
      return ordering(get, toOperand(value), (c) => c <= 0);
    case 'gt':
      return ordering(get, toOperand(value), (c) => c > 0);
    case 'gte':
      return ordering(get, toOperand(value), (c) => c >= 0);
    case 'exists': {
      const want = value === true || value === 'true';
      return (e) => (get(e) !== undefined) === want;
    }
    case 'in':
      return compileIn(get, value, options.maxInValues ?? DEFAULT_QUERY_LIMITS.maxInValues);
    case 'contains': {
      const test = containsTest(value);
      return (e) => {
        const a = get(e);
        return a !== undefined && test(a);
      };
    }
    case 'not_contains': {
      const test = containsTest(value);
      return (e) => {
        const a = get(e);
        return a === undefined || !test(a);
      };
    }
    case 'regex':
      return compileRegex(
        get,
        value,
        options.maxRegexLength ?? DEFAULT_QUERY_LIMITS.maxRegexLength,
      );
    case 'within':
      return compileWithin(get, value);
    default:
      throw badFilter(`filters: unknown operator "${String(f.operator)}"`);
  }
}

function ordering(
  get: (e: JsonObject) => JsonValue | undefined,
  exp: Operand,
  accept: (c: number) => boolean,
): EventPredicate {
  return (e) => {
    const a = get(e);
    if (a === undefined || a === null) return false;
    if (Array.isArray(a)) {
      for (let i = 0; i < a.length; i++) {
        const c = scalarOrder(a[i], exp);
        if (c === c && accept(c)) return true;
      }
      return false;
    }
    const c = scalarOrder(a, exp);
    // NaN (incomparable kinds) fails every test.
    return c === c && accept(c);
  };
}

function compileIn(
  get: (e: JsonObject) => JsonValue | undefined,
  value: JsonValue,
  maxValues: number,
): EventPredicate {
  if (!Array.isArray(value)) throw badFilter('filters: "in" needs an array property_value');
  if (value.length > maxValues) throw inListTooLong('filters', value.length, maxValues);
  // Every loose form normalised once: a miss costs a few lookups, not one
  // comparison per listed value (see in-set.ts).
  const set = new InSet(value);
  return (e) => {
    const a = get(e);
    return a !== undefined && set.has(a);
  };
}

/** The 400 for an `in` list over QueryLimits.maxInValues. */
export function inListTooLong(at: string, length: number, max: number): Error {
  return overLimit(
    `${at}: an "in" list has ${length} values, more than the limit of ${max} (maxInValues)`,
  );
}

/** The text `contains` looks for in a string: the operand's, or a number's or boolean's as JavaScript writes it. */
export function containsNeedle(value: JsonValue): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

/** contains: substring for string properties, loose element equality for arrays. */
function containsTest(value: JsonValue): (a: JsonValue) => boolean {
  const needle = containsNeedle(value);
  const exp = toOperand(value);
  return (a) => {
    if (typeof a === 'string') return needle !== undefined && a.includes(needle);
    if (Array.isArray(a)) return looseEquals(a, exp);
    return false;
  };
}

function compileRegex(
  get: (e: JsonObject) => JsonValue | undefined,
  value: JsonValue,
  maxLength: number,
): EventPredicate {
  if (typeof value !== 'string') throw badFilter('filters: "regex" needs a string property_value');
  if (value.length > maxLength) {
    throw badFilter(`filters: regex pattern is longer than the limit of ${maxLength} characters`);
  }
  let re: RE2JS;
  try {
    // re2js guarantees linear-time matching: no catastrophic backtracking on hostile patterns.
    re = RE2JS.compile(value);
  } catch (err) {
    throw badFilter(`filters: invalid regex "${value}": ${(err as Error).message}`);
  }
  return (e) => {
    const a = get(e);
    if (typeof a === 'string') return re.test(a);
    if (Array.isArray(a)) {
      for (let i = 0; i < a.length; i++) {
        const el = a[i];
        if (typeof el === 'string' && re.test(el)) return true;
      }
    }
    return false;
  };
}

function compileWithin(
  get: (e: JsonObject) => JsonValue | undefined,
  value: JsonValue,
): EventPredicate {
  const spec = readWithin(value);
  if (!spec) {
    throw badFilter(
      'filters: "within" needs property_value {"coordinates":[lon,lat],"max_distance_miles":N}',
    );
  }
  const { lon, lat, miles } = spec;
  return (e) => {
    const a = get(e);
    if (!Array.isArray(a) || a.length < 2) return false;
    const x = a[0];
    const y = a[1];
    if (typeof x !== 'number' || typeof y !== 'number') return false;
    return haversineMiles(lon, lat, x, y) <= miles;
  };
}

export function readWithin(
  value: unknown,
): { lon: number; lat: number; miles: number } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const coords = v.coordinates;
  const miles =
    typeof v.max_distance_miles === 'string' ? Number(v.max_distance_miles) : v.max_distance_miles;
  if (!Array.isArray(coords) || coords.length !== 2) return undefined;
  const [lon, lat] = coords.map((c) => (typeof c === 'string' ? Number(c) : c));
  if (typeof lon !== 'number' || typeof lat !== 'number' || typeof miles !== 'number')
    return undefined;
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || !Number.isFinite(miles) || miles < 0) {
    return undefined;
  }
  if (lon < -180 || lon > 180 || lat < -90 || lat > 90) return undefined;
  return { lon, lat, miles };
}
