import { RESERVED_NAME } from '@app/events';
import { parseParamJson } from '../param-json';
import { badParam } from '../query-errors';

/**
 * Readers for one query parameter in either transport: GET query strings
 * carry only strings (JSON text for structures), POST bodies carry real JSON
 * types. `null`, `undefined` and '' all mean "not given" because clients
 * serialise absent options both ways.
 */
export type Params = Record<string, unknown>;

export const isAbsent = (v: unknown): boolean => v === undefined || v === null || v === '';

/** JSON text in a string is parsed; anything else passes through. */
export function jsonParam(params: Params, name: string): unknown {
  const v = params[name];
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('[') || t.startsWith('{') || t.startsWith('"'))) return v;
  return parseParamJson(t, name, badParam, `${name} is not valid JSON`);
}

export function stringParam(params: Params, name: string, required: boolean): string | undefined {
  const v = params[name];
  if (isAbsent(v)) {
    if (required) throw badParam(`${name} is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw badParam(`${name} must be a string`);
  return v;
}

export function numberParam(
  params: Params,
  name: string,
  opts: { integer?: boolean; min?: number; max?: number } = {},
): number | undefined {
  const v = params[name];
  if (isAbsent(v)) return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  const what = opts.integer ? 'an integer' : 'a number';
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` between ${opts.min} and ${opts.max}`
      : opts.min !== undefined
        ? ` >= ${opts.min}`
        : '';
  if (
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) ||
    (opts.max !== undefined && n > opts.max)
  ) {
    throw badParam(`${name} must be ${what}${range}`);
  }
  return n;
}

export function booleanParam(params: Params, name: string): boolean | undefined {
  return toBoolean(params[name], name);
}

export function toBoolean(v: unknown, name: string): boolean | undefined {
  if (isAbsent(v)) return undefined;
  // Python clients put booleans in query strings as "True"/"False".
  const t = typeof v === 'string' ? v.trim().toLowerCase() : v;
  if (t === true || t === 'true' || t === '1' || t === 1) return true;
  if (t === false || t === 'false' || t === '0' || t === 0) return false;
  throw badParam(`${name} must be true or false`);
}

/**
 * A property name: non-empty, no empty dotted segment, and no `__proto__`
 * segment (no event can hold one: the event validator refuses that name).
 */
export function isPropertyPath(v: unknown): v is string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2048) return false;
  const segments = v.split('.');
  return !segments.includes('') && !segments.includes(RESERVED_NAME);
}

/**
 * A string or a list of strings (group_by, property_names). GET sends a bare
 * name or JSON text; repeated query keys arrive as an array.
 */
export function stringListParam(params: Params, name: string): string[] | undefined {
  const v = jsonParam(params, name);
  if (isAbsent(v)) return undefined;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) return undefined;
  for (const item of list) {
    if (!isPropertyPath(item)) throw badParam(`${name} must be a property name or a list of them`);
  }
  return [...new Set(list as string[])];
}
