import { JsonValue } from '@app/events';
import { RE2JS } from 're2js';
import { DEFAULT_QUERY_LIMITS } from '../query-limits';
import { badFilter, overLimit } from '../query-errors';
import { parseParamJson } from '../param-json';
import { inListTooLong, readWithin } from './compile-filters';
import { Filter, FilterOperator } from './filter.types';

export interface ParseFilterOptions {
  maxRegexLength?: number;
  maxFilters?: number;
  /**
   * Values in one `in` list. When absent the engine still enforces its
   * configured limit when it compiles the filters (compile-filters.ts).
   */
  maxInValues?: number;
  /** Size of the whole filters parameter, about its JSON text length. */
  maxFilterBytes?: number;
}

const OPERATORS: ReadonlySet<string> = new Set<FilterOperator>([
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'exists',
  'in',
  'contains',
  'not_contains',
  'within',
  'regex',
  'or',
]);

/** Deeper nesting of `or` has no use and would only cost stack. */
const MAX_OR_DEPTH = 8;

/**
 * Validates the `filters` parameter in either transport form: JSON text
 * (GET query string, DELETE) or an already-parsed array (POST body). Every
 * error is a 400 naming the offending filter by its index path, e.g.
 * `filters[2].operands[0].property_value`. `or` accepts its sub-filters under
 * `operands` or under `property_value` (Keen's shape is undocumented).
 */
export function parseFilters(
  raw: unknown,
  param = 'filters',
  options: ParseFilterOptions = {},
): Filter[] {
  if (raw === undefined || raw === null || raw === '') return [];
  const maxBytes = options.maxFilterBytes ?? DEFAULT_QUERY_LIMITS.maxFilterBytes;
  // Text is measured before it is parsed; a parsed body by a walk that stops
  // as soon as the limit is passed.
  if (typeof raw === 'string' ? raw.length > maxBytes : !withinBytes(raw, maxBytes)) {
    throw overLimit(
      `${param}: more than the limit of ${maxBytes} bytes of filters (maxFilterBytes)`,
    );
  }
  let value: unknown = raw;
  if (typeof value === 'string') {
    value = parseParamJson(value, param, badFilter, `${param} must be a JSON array of filters`);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) value = [value];
  if (!Array.isArray(value)) throw badFilter(`${param} must be an array of filters`);
  const state: ParseState = {
    count: 0,
    maxFilters: options.maxFilters ?? DEFAULT_QUERY_LIMITS.maxFilters,
    maxRegexLength: options.maxRegexLength ?? DEFAULT_QUERY_LIMITS.maxRegexLength,
    maxInValues: options.maxInValues,
  };
  return value.map((f, i) => parseOne(f, `${param}[${i}]`, state, 0));
}

interface ParseState {
  count: number;
  maxFilters: number;
  maxRegexLength: number;
  maxInValues?: number;
}

/**
 * Whether a parsed value's JSON text is at most `max` characters, roughly
 * (strings and keys by length plus quotes, other scalars by a fixed width).
 * Iterative and stops at the limit, so its cost is bounded by `max`, not by
 * what the client sent.
 */
function withinBytes(value: unknown, max: number): boolean {
  let used = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') used += v.length + 3;
    else if (v === null || typeof v !== 'object') used += 8;
    else if (Array.isArray(v)) {
      used += 2 + v.length;
      for (let i = 0; i < v.length && used <= max; i++) stack.push(v[i]);
    } else {
      for (const k of Object.keys(v)) {
        used += k.length + 4;
        if (used > max) return false;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
    if (used > max) return false;
  }
  return true;
}

function parseOne(raw: unknown, at: string, state: ParseState, depth: number): Filter {
  if (++state.count > state.maxFilters) {
    throw badFilter(`filters: more than the limit of ${state.maxFilters} filters`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badFilter(`${at} must be an object {property_name, operator, property_value}`);
  }
  const f = raw as Record<string, unknown>;
  const operator = typeof f.operator === 'string' ? f.operator.trim().toLowerCase() : f.operator;
  if (typeof operator !== 'string' || !OPERATORS.has(operator)) {
    throw badFilter(`${at}.operator must be one of ${[...OPERATORS].join(', ')}`);
  }
  if (operator === 'or') {
    if (depth >= MAX_OR_DEPTH) throw badFilter(`${at}: "or" filters nest too deeply`);
    const key = f.operands !== undefined ? 'operands' : 'property_value';
    const subs = f[key];
    if (!Array.isArray(subs) || subs.length === 0) {
      throw badFilter(`${at}.operands must be a non-empty array of filters`);
    }
    const name = typeof f.property_name === 'string' ? f.property_name : '';
    return {
      property_name: name,
      operator: 'or',
      operands: subs.map((s, i) => parseOne(s, `${at}.${key}[${i}]`, state, depth + 1)),
    };
  }
  const name = f.property_name;
  if (typeof name !== 'string' || name.length === 0 || name.split('.').some((k) => k === '')) {
    throw badFilter(`${at}.property_name must be a non-empty (dotted) property name`);
  }
  return {
    property_name: name,
    operator: operator as FilterOperator,
    property_value: parseValue(
      operator as FilterOperator,
      f.property_value,
      `${at}.property_value`,
      state,
    ),
  };
}

function parseValue(op: FilterOperator, v: unknown, at: string, state: ParseState): JsonValue {
  switch (op) {
    case 'exists':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      throw badFilter(`${at} must be true or false for operator "exists"`);
    case 'in':
      if (!Array.isArray(v)) throw badFilter(`${at} must be an array for operator "in"`);
      if (state.maxInValues !== undefined && v.length > state.maxInValues) {
        throw inListTooLong(at, v.length, state.maxInValues);
      }
      return v as JsonValue[];
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
        throw badFilter(`${at} must be a number, string or boolean for operator "${op}"`);
      }
      if (typeof v === 'number' && !Number.isFinite(v)) throw badFilter(`${at} must be finite`);
      return v;
    case 'regex':
      if (typeof v !== 'string') throw badFilter(`${at} must be a string for operator "regex"`);
      if (v.length > state.maxRegexLength) {
        throw badFilter(
          `${at}: regex is longer than the limit of ${state.maxRegexLength} characters`,
        );
      }
      try {
        RE2JS.compile(v);
      } catch (err) {
        throw badFilter(`${at} is not a valid regular expression: ${(err as Error).message}`);
      }
      return v;
    case 'within': {
      const w = readWithin(v);
      if (!w) {
        throw badFilter(
          `${at} must be {"coordinates":[lon,lat],"max_distance_miles":N} for operator "within"`,
        );
      }
      return { coordinates: [w.lon, w.lat], max_distance_miles: w.miles };
    }
    default:
      if (v === undefined) throw badFilter(`${at} is required for operator "${op}"`);
      return v as JsonValue;
  }
}
