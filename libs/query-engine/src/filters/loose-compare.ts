import { JsonValue } from '@app/events';
import { parseIsoInstant } from '../values/iso-instant';

/**
 * A filter's `property_value`, analysed once at compile time so the per-event
 * comparison does no parsing of the expected side.
 */
export interface Operand {
  value: JsonValue;
  /** Set when the value is a number or a numeric string. */
  num?: number;
  /** Set when the value is a string holding an ISO-8601 datetime. */
  instant?: number;
}

const NUMERIC_RE = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** Number(s) for decimal numeric strings only (no hex, no "Infinity", no ""). */
export function numericString(s: string): number | undefined {
  if (!NUMERIC_RE.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

export function toOperand(value: JsonValue): Operand {
  const op: Operand = { value };
  if (typeof value === 'number') op.num = value;
  else if (typeof value === 'string') {
    op.num = numericString(value);
    op.instant = parseIsoInstant(value);
  }
  return op;
}

/**
 * Keen/Mongo-style equality for one scalar (or whole structured value):
 * numbers and numeric strings compare numerically across types; two strings
 * are equal when identical or when both are datetimes naming the same instant;
 * arrays and objects compare structurally.
 */
export function scalarEquals(actual: JsonValue, exp: Operand): boolean {
  const ev = exp.value;
  switch (typeof actual) {
    case 'number':
      return exp.num !== undefined && actual === exp.num;
    case 'string':
      if (typeof ev === 'string') {
        if (actual === ev) return true;
        return exp.instant !== undefined && parseIsoInstant(actual) === exp.instant;
      }
      return typeof ev === 'number' && numericString(actual) === ev;
    case 'boolean':
      return actual === ev;
    default:
      if (actual === null) return ev === null;
      return deepEqual(actual, ev);
  }
}

/** eq semantics: an array property matches when any element equals (or the whole array does). */
export function looseEquals(actual: JsonValue, exp: Operand): boolean {
  if (Array.isArray(actual)) {
    if (Array.isArray(exp.value) && deepEqual(actual, exp.value)) return true;
    for (let i = 0; i < actual.length; i++) {
      const el = actual[i];
      if (!Array.isArray(el) && scalarEquals(el, exp)) return true;
    }
    return false;
  }
  return scalarEquals(actual, exp);
}

/**
 * Ordering of one scalar against the operand: negative, zero, positive, or NaN
 * when the two are not comparable (different kinds, null, structured values).
 * Mixed number / numeric string compare numerically; two datetimes compare as
 * instants; other strings compare by code units; booleans false < true.
 */
export function scalarOrder(actual: JsonValue, exp: Operand): number {
  const ev = exp.value;
  switch (typeof actual) {
    case 'number':
      return exp.num !== undefined ? actual - exp.num : NaN;
    case 'string': {
      if (typeof ev === 'string') {
        if (exp.instant !== undefined) {
          const t = parseIsoInstant(actual);
          if (t !== undefined) return t - exp.instant;
        }
        return actual < ev ? -1 : actual > ev ? 1 : 0;
      }
      if (typeof ev === 'number') {
        const n = numericString(actual);
        return n === undefined ? NaN : n - ev;
      }
      return NaN;
    }
    case 'boolean':
      return typeof ev === 'boolean' ? Number(actual) - Number(ev) : NaN;
    default:
      return NaN;
  }
}

export function deepEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  }
  return true;
}
