/** JSON helpers of the reference evaluator (independent of the engine's). */
import { JsonObject, JsonValue } from '@app/events';

export function sortedJson(v: JsonValue | undefined): string {
  if (v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** JSON text tells 1 from "1", so it is a typed identity for values. */
export const typedKey = (v: JsonValue): string => sortedJson(v);

export const sameJson = (a: JsonValue, b: JsonValue): boolean => sortedJson(a) === sortedJson(b);

function kind(v: JsonValue | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  return Array.isArray(v) ? 4 : 5;
}

export function totalOrder(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ka = kind(a);
  const kb = kind(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  if (ka === 0) return 0;
  if (ka === 4) {
    const x = a as JsonValue[];
    const y = b as JsonValue[];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const c = totalOrder(x[i], y[i]);
      if (c) return c;
    }
    return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
  }
  const x = ka === 5 ? sortedJson(a) : (a as number | string | boolean);
  const y = ka === 5 ? sortedJson(b) : (b as number | string | boolean);
  return x === y ? 0 : x < y ? -1 : 1;
}

export function project(event: JsonObject, names: string[]): JsonObject {
  const out: JsonObject = {};
  for (const name of names) {
    const v = lookup(event, name);
    if (v === undefined) continue;
    const keys = name.split('.');
    let node: JsonObject = out;
    keys.slice(0, -1).forEach((k) => {
      const existing = node[k];
      if (typeof existing !== 'object' || existing === null || Array.isArray(existing))
        node[k] = {};
      node = node[k] as JsonObject;
    });
    node[keys[keys.length - 1]] = v;
  }
  return out;
}

export function lookup(obj: JsonObject, path: string): JsonValue | undefined {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur as JsonValue;
}
