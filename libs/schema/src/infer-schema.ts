import { JsonObject, JsonValue } from '@app/events';
import { PropertyType, SchemaDelta } from './schema.types';

// ISO-8601 date-time with a time part; plain dates and free text stay strings.
const ISO_DATETIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

export function typeOf(value: JsonValue): PropertyType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'number':
      return 'num';
    case 'boolean':
      return 'bool';
    case 'string':
      return ISO_DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? 'datetime' : 'string';
    default:
      return 'object';
  }
}

/**
 * Calls `visit` for every property path of an event, nested objects included
 * (the object itself is a path of type `object`, then each of its children).
 * Lists are leaves: their elements are not separate properties.
 */
export function forEachProperty(
  event: JsonObject,
  visit: (path: string, type: PropertyType) => void,
  prefix = '',
): void {
  for (const key of Object.keys(event)) {
    const value = event[key];
    const path = prefix ? `${prefix}.${key}` : key;
    const type = typeOf(value);
    visit(path, type);
    if (type === 'object') forEachProperty(value as JsonObject, visit, path);
  }
}

/**
 * Counter deltas contributed by these events (+1 per event per path/type, or
 * `sign` = -1 for events being deleted). Aggregated so a batch of thousands
 * of similar events becomes a few dozen counter updates.
 */
export function schemaDeltas(
  events: Iterable<{ collection: string; event: JsonObject }>,
  sign: 1 | -1 = 1,
): SchemaDelta[] {
  const totals = new Map<string, SchemaDelta>();
  for (const { collection, event } of events) {
    forEachProperty(event, (path, type) => {
      const key = `${collection}\u0000${path}\u0000${type}`;
      const found = totals.get(key);
      if (found) found.delta += sign;
      else totals.set(key, { collection, path, type, delta: sign });
    });
  }
  return [...totals.values()];
}
