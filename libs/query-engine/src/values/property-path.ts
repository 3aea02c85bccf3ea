import { JsonObject, JsonValue, userKeyed } from '@app/events';

/** Reads one (possibly dotted) property from an event body; `undefined` when absent. */
export type PathGetter = (event: JsonObject) => JsonValue | undefined;

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Compiles `user.address.city` into a getter with the keys split once. Keen
 * property names never contain `.`, so the split is unambiguous. Only plain
 * objects are traversed (an array on the way yields `undefined`), and keys that
 * exist on Object.prototype (`constructor`, `__proto__`, ...) are read only
 * when the event owns them, so a query can never see inherited members.
 */
export function compilePath(path: string): PathGetter {
  const keys = path.split('.');
  const guarded = keys.map((k) => k in Object.prototype);
  const anyGuarded = guarded.some(Boolean);
  if (!anyGuarded && keys.length === 1) {
    const k = keys[0];
    return (e) => e[k];
  }
  if (!anyGuarded && keys.length === 2) {
    const [k0, k1] = keys;
    return (e) => {
      const v = e[k0];
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? v[k1] : undefined;
    };
  }
  return (e) => {
    let cur: JsonValue | undefined = e;
    for (let i = 0; i < keys.length; i++) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
      const k = keys[i];
      if (guarded[i] && !hasOwn.call(cur, k)) return undefined;
      cur = cur[k];
    }
    return cur;
  };
}

/**
 * Copies the given dotted paths into a new nested object (extraction
 * `property_names`); absent paths are left out. The copy is built from
 * null-prototype objects and own-property reads, so no path name can reach
 * Object.prototype (an extraction once wrote through `__proto__.filters`).
 */
export function compileProjection(paths: string[]): (event: JsonObject) => JsonObject {
  const plan = paths.map((p) => ({ keys: p.split('.'), get: compilePath(p) }));
  return (event) => {
    const out = userKeyed();
    for (const { keys, get } of plan) {
      const value = get(event);
      if (value === undefined) continue;
      let node = out;
      for (let i = 0; i < keys.length - 1; i++) {
        const next = hasOwn.call(node, keys[i]) ? node[keys[i]] : undefined;
        if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
          node = next;
        } else {
          const created = userKeyed();
          node[keys[i]] = created;
          node = created;
        }
      }
      node[keys[keys.length - 1]] = value;
    }
    return out;
  };
}
