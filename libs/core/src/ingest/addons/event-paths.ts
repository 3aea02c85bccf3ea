import { JsonObject, JsonValue, propertyNameProblem } from '@app/events';

/** A dot path names at most this many levels (inputs and outputs alike). */
export const MAX_PATH_SEGMENTS = 16;
/** Longer than any path a real event needs; a longer one is refused before it is split. */
export const MAX_PATH_LENGTH = 1024;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Why a dot path cannot name a property, or undefined when it can. Every
 * segment must be a valid property name, so an add-on can never write a name
 * the event validation would have refused (`__proto__`, `$x`, empty names).
 */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  const segments = path.split('.');
  if (segments.length > MAX_PATH_SEGMENTS) return `has more than ${MAX_PATH_SEGMENTS} levels`;
  for (const segment of segments) {
    const problem = propertyNameProblem(segment);
    if (problem) return `has a segment that ${problem}`;
  }
  return undefined;
}

/** The value at a dot path through nested objects (own properties only), or undefined. */
export function readPath(event: JsonObject, path: string): JsonValue | undefined {
  let node: JsonValue | undefined = event;
  for (const segment of path.split('.')) {
    if (!isObject(node) || !Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

/**
 * Writes `value` at a dot path of `event`, copying every object on the way
 * (the nested objects of a prepared event are shared with the request body,
 * which stays as the client sent it). Missing levels are created; a level
 * that holds something other than an object makes the write fail (false),
 * so an output never silently replaces a client's value with a subtree.
 */
export function writePath(event: JsonObject, path: string, value: JsonValue): boolean {
  const segments = path.split('.');
  let node = event;
  for (const segment of segments.slice(0, -1)) {
    const existing = Object.prototype.hasOwnProperty.call(node, segment) ? node[segment] : undefined;
    if (existing !== undefined && !isObject(existing)) return false;
    const copy: JsonObject = existing === undefined ? {} : { ...existing };
    defineOwn(node, segment, copy);
    node = copy;
  }
  defineOwn(node, segments[segments.length - 1], value);
  return true;
}

/**
 * Every key written here is a validated property name (event keys passed
 * validation, path segments passed `pathProblem`): never `__proto__`, the one
 * name whose assignment is not a plain own data property.
 */
function defineOwn(target: JsonObject, key: string, value: JsonValue): void {
  target[key] = value;
}

/** The request-time values Keen substitutes for its placeholders. */
export interface PlaceholderValues {
  '${keen.ip}'?: string;
  '${keen.user_agent}'?: string;
}

const PLACEHOLDERS = new Set(['${keen.ip}', '${keen.user_agent}']);

/**
 * Replaces every property value that is exactly a placeholder (`${keen.ip}`,
 * `${keen.user_agent}`), at any depth, lists included. Returns the same object
 * when nothing matched, else a copy along the changed paths only. A
 * placeholder whose value the request did not have is left as sent.
 */
export function substitutePlaceholders<T extends JsonValue>(value: T, values: PlaceholderValues): T {
  if (typeof value === 'string') {
    if (!PLACEHOLDERS.has(value)) return value;
    return (values[value as keyof PlaceholderValues] ?? value) as T;
  }
  if (Array.isArray(value)) {
    let copy: JsonValue[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const next = substitutePlaceholders(value[i], values);
      if (next !== value[i]) (copy ??= [...value])[i] = next;
    }
    return (copy ?? value) as T;
  }
  if (isObject(value)) {
    let copy: JsonObject | null = null;
    for (const key of Object.keys(value)) {
      const next = substitutePlaceholders(value[key], values);
      if (next !== value[key]) defineOwn((copy ??= { ...value }), key, next);
    }
    return (copy ?? value) as T;
  }
  return value;
}
