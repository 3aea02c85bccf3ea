import { PropertyType, SchemaCounter } from './schema.types';

export interface CollectionSchema {
  name: string;
  /** Keen's shape: one type per property path (the most frequent one). */
  properties: Record<string, PropertyType>;
  /** Tally's addition: every type seen per path, with event counts. */
  property_types: Record<string, Partial<Record<PropertyType, number>>>;
}

/**
 * Turns counters into Keen's schema view. Container objects are left out of
 * `properties` (Keen lists only their leaves) but kept in `property_types`.
 * Paths are the clients' property names, so both maps have no prototype:
 * `constructor` or `toString` are listed like any property, and no name can
 * read or write Object.prototype (`property_types[path] ??= {}` once wrote
 * into the Object constructor for a property named `constructor`).
 */
export function toCollectionSchemas(counters: SchemaCounter[]): CollectionSchema[] {
  const byCollection = new Map<string, CollectionSchema>();
  for (const c of counters) {
    let schema = byCollection.get(c.collection);
    if (!schema) {
      schema = { name: c.collection, properties: nullProto(), property_types: nullProto() };
      byCollection.set(c.collection, schema);
    }
    const types = Object.hasOwn(schema.property_types, c.path)
      ? schema.property_types[c.path]
      : (schema.property_types[c.path] = nullProto());
    types[c.type] = c.count;
  }
  for (const schema of byCollection.values()) {
    for (const [path, types] of Object.entries(schema.property_types)) {
      const leafTypes = Object.entries(types).filter(([type]) => type !== 'object');
      if (leafTypes.length === 0) continue;
      leafTypes.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      schema.properties[path] = leafTypes[0][0] as PropertyType;
    }
  }
  return [...byCollection.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function nullProto<T extends object>(): T {
  return Object.create(null) as T;
}
