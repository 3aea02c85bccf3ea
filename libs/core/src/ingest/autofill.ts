import { JsonObject, JsonValue } from '@app/events';
import { StoredKey } from '@app/storage';

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own data properties only, so a key such as `__proto__` is a plain property and never a prototype. */
function put(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function copy(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(copy);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) put(out, key, copy(value[key]));
  return out;
}

/**
 * An access key's `options.writes.autofill` deep-merged into an event written
 * with it: objects merge key by key, and wherever both have a value the
 * event's own wins. Anything that is not an object is returned as it is, for
 * the event validation to refuse. Neither input is changed.
 */
export function withAutofill(event: unknown, autofill: JsonObject | undefined): unknown {
  if (!autofill || !isObject(event)) return event;
  return merge(event, autofill);
}

function merge(event: JsonObject, fill: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(event)) put(out, key, event[key]);
  for (const key of Object.keys(fill)) {
    if (!Object.hasOwn(event, key)) put(out, key, copy(fill[key]));
    else if (isObject(event[key]) && isObject(fill[key]))
      put(out, key, merge(event[key] as JsonObject, fill[key] as JsonObject));
  }
  return out;
}

/** The autofill of the key a write came with: an access key's `options.writes.autofill`, if any. */
export function autofillOf(key: StoredKey | undefined): JsonObject | undefined {
  if (!key || key.role !== 'access') return undefined;
  const writes = key.access?.options?.writes;
  const autofill = isObject(writes) ? writes.autofill : undefined;
  return isObject(autofill) ? autofill : undefined;
}
