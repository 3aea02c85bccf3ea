import { TallyError } from './errors';
import { JsonObject } from './json.types';

/**
 * The one JSON parser for request bodies, beacons and JSON-valued parameters.
 * JSON.parse keeps a `"__proto__"` key as an own data property (it never sets a
 * prototype), so nothing is dropped silently: names are judged afterwards by
 * the event validator and the query parser, which refuse `__proto__` with a
 * message naming it. (A parser that deletes such keys would lose data; one that
 * fails the whole body would call valid JSON invalid.)
 */
export function parseJsonText(text: string, what = 'The request body'): unknown {
  if (text.trim().length === 0) {
    throw new TallyError('invalid', 'InvalidJsonError', `${what} is empty; send a JSON document.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = (error as Error).message.slice(0, 200);
    throw new TallyError('invalid', 'InvalidJsonError', `${what} is not valid JSON (${detail}).`);
  }
}

/**
 * An object for keys that come from users (labels, property paths, group
 * values): no prototype, so `__proto__`, `constructor` or `toString` are plain
 * keys and nothing can be read from or written to Object.prototype through it.
 * JSON.stringify renders it like any object.
 */
export function userKeyed<T = JsonObject>(): T {
  return Object.create(null) as T;
}
