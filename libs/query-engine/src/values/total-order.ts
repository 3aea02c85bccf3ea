import { JsonValue } from '@app/events';

/**
 * One deterministic order over all JSON values, used wherever Tally must
 * choose an order Keen leaves unspecified (group rows, select_unique,
 * funnel actors) and for order_by: null < booleans < numbers < strings <
 * arrays < objects; strings by UTF-16 code units (locale-independent).
 */
export function compareJson(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 4: {
      const x = a as JsonValue[];
      const y = b as JsonValue[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = compareJson(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = canonicalJson(a as JsonValue);
      const y = canonicalJson(b as JsonValue);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

function rank(v: JsonValue | undefined): number {
  if (v === null || v === undefined) return 0;
  switch (typeof v) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    default:
      return Array.isArray(v) ? 4 : 5;
  }
}

/** JSON text with object keys sorted, so equal objects give equal text. */
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(v[k])).join(',') + '}';
}

/**
 * A Map/Set key that distinguishes JSON values exactly: primitives stand for
 * themselves (Map already tells 1 from "1"); structured values become
 * canonical JSON behind a \u0001 marker, and strings that happen to start
 * with the marker are escaped so they cannot collide.
 */
export function valueKey(v: JsonValue): string | number | boolean | null {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.charCodeAt(0) === 1 ? '\u0001s' + v : v;
  return '\u0001j' + canonicalJson(v);
}
