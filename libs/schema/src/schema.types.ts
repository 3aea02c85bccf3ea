/** The types schema inference distinguishes (Keen's names). */
export type PropertyType = 'num' | 'string' | 'bool' | 'datetime' | 'list' | 'object' | 'null';

/** A change to one counter: events of `collection` whose `path` held a value of `type`. */
export interface SchemaDelta {
  collection: string;
  path: string;
  type: PropertyType;
  delta: number;
}

export interface SchemaCounter {
  collection: string;
  path: string;
  type: PropertyType;
  count: number;
}
