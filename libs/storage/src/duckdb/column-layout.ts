import { JsonObject, JsonValue, parseJsonText } from '@app/events';
import { canonicalJson, numericString, parseIsoInstant } from '@app/query-engine';
import { LONE_SURROGATE } from './sql-params';

/**
 * The typed columns one property path can have (docs/storage-engine.md, "How
 * Keen's types map"). An event's value at a path has exactly one JSON type, so
 * for one event at most one of the primary kinds (n, s, b, z, a, o) is set;
 * `ns` and `t` are derived from `s` at ingest so that queries never have to
 * re-derive Keen's loose rules in SQL:
 *
 * - `n`  number (DOUBLE)
 * - `s`  string (VARCHAR)
 * - `ns` the value of a numeric string, by the engine's own rule (numericString):
 *        `score gt 50` must match "75" but no word
 * - `t`  the instant (epoch ms) of a string that is an ISO-8601 datetime, by the
 *        engine's parser: equality treats "2024-03-10T08:00:00-04:00" and
 *        "2024-03-10T12:00:00Z" as the same value
 * - `b`  boolean
 * - `z`  true when the value is JSON null: a null is present (exists:true, its
 *        own group) while a missing path sets no column at all
 * - `a`  an array, as canonical JSON text (keys sorted): whole-value equality,
 *        grouping and distinct counts compare canonical text
 * - `e`  an array's elements, a LIST of STRUCT(n, s, ns, t, b, z, o): one struct per
 *        element with the element's value in the field of its kind, as above
 *        (an element that is itself an array leaves every field NULL: the engine
 *        never matches a nested array's element). Filters on an array match when
 *        any element matches, so each scalar comparison runs over the elements too
 * - `o`  an object, as canonical JSON text; its members get their own paths
 * - `u`  true for a string holding a lone surrogate: valid in JavaScript, not in
 *        UTF-8, so DuckDB could not hold it unchanged; a query reading such a
 *        path stays with the TypeScript engine
 */
export type ColumnKind = 'n' | 's' | 'ns' | 't' | 'b' | 'z' | 'a' | 'e' | 'o' | 'u';

export const COLUMN_KINDS: readonly ColumnKind[] = ['n', 's', 'ns', 't', 'b', 'z', 'a', 'e', 'o', 'u'];

/** The scalar kinds an array element can have: the fields of an `e` struct. */
export type ElementKind = 'n' | 's' | 'ns' | 't' | 'b' | 'z' | 'o';
export const ELEMENT_KINDS: readonly ElementKind[] = ['n', 's', 'ns', 't', 'b', 'z', 'o'];

/** One array element, the fields of its kind set (no field for a nested array). */
export type ArrayElement = Partial<Record<ElementKind, number | string | boolean>>;

export const ELEMENT_STRUCT = 'STRUCT(n DOUBLE, s VARCHAR, ns DOUBLE, t BIGINT, b BOOLEAN, z BOOLEAN, o VARCHAR)';

/** The SQL type each kind is stored as. */
export const SQL_TYPE: Readonly<
  Record<ColumnKind, 'DOUBLE' | 'VARCHAR' | 'BIGINT' | 'BOOLEAN' | 'ELEMENTS'>
> = {
    n: 'DOUBLE',
    s: 'VARCHAR',
    ns: 'DOUBLE',
    t: 'BIGINT',
    b: 'BOOLEAN',
    z: 'BOOLEAN',
    a: 'VARCHAR',
    e: 'ELEMENTS',
    o: 'VARCHAR',
    u: 'BOOLEAN',
  };

/** The kinds whose columns together hold the value itself (ns and t are derived from s). */
export const VALUE_KINDS: readonly ColumnKind[] = ['n', 's', 'b', 'a', 'o'];

/** One typed cell of one event. */
export interface Cell {
  path: string;
  kind: ColumnKind;
  value: number | string | boolean | ArrayElement[];
}

/**
 * Flattens an event body into its typed cells, one path per member reached
 * through plain objects, exactly the paths the engine's compilePath can read:
 * it splits a query path on '.', so a key that itself contains '.' can never
 * be addressed and is left out (with everything under it); arrays are not
 * walked into, since a path through an array reads as missing.
 */
export function flattenEvent(body: JsonObject): Cell[] {
  const cells: Cell[] = [];
  walkObject(body, '', cells);
  return cells;
}

function walkObject(obj: JsonObject, prefix: string, cells: Cell[]): void {
  // Own keys only: bodies come from the safe JSON parser, and Object.keys never
  // reports inherited members, so `__proto__` is read only when the event owns it.
  for (const key of Object.keys(obj)) {
    if (key.includes('.')) continue;
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const value = obj[key];
    if (value === undefined) continue;
    cellsOf(path, value, cells);
  }
}

function cellsOf(path: string, value: JsonValue, cells: Cell[]): void {
  if (Array.isArray(value)) {
    // Canonical text escapes lone surrogates (\udXXX), so the whole array is safe;
    // its string elements are checked one by one below.
    cells.push({ path, kind: 'a', value: canonicalJson(value) });
    const elements: ArrayElement[] = [];
    for (const el of value) {
      const fields: ArrayElement = {};
      if (!Array.isArray(el) && !scalarFields(el, fields)) {
        cells.push({ path, kind: 'u', value: true });
        return;
      }
      elements.push(fields);
    }
    cells.push({ path, kind: 'e', value: elements });
    return;
  }
  const fields: ArrayElement = {};
  if (!scalarFields(value, fields)) {
    cells.push({ path, kind: 'u', value: true });
    return;
  }
  for (const kind of ELEMENT_KINDS) {
    const v = fields[kind];
    if (v !== undefined) cells.push({ path, kind, value: v });
  }
  if (value !== null && typeof value === 'object') walkObject(value, path, cells);
}

/**
 * The typed fields of one non-array value (a property's or an array
 * element's); false for a string UTF-8 cannot carry unchanged.
 */
function scalarFields(value: JsonValue, out: ArrayElement): boolean {
  if (value === null) {
    out.z = true;
    return true;
  }
  switch (typeof value) {
    case 'number':
      // -0 and 0 are one JSON number (one group, one distinct value in the engine).
      out.n = value === 0 ? 0 : value;
      return true;
    case 'boolean':
      out.b = value;
      return true;
    case 'string': {
      if (LONE_SURROGATE.test(value)) return false;
      out.s = value;
      const num = numericString(value);
      if (num !== undefined) out.ns = num === 0 ? 0 : num;
      const instant = parseIsoInstant(value);
      if (instant !== undefined) out.t = instant;
      return true;
    }
    default:
      out.o = canonicalJson(value as JsonObject);
      return true;
  }
}

/**
 * The JSON value a row holds at a path, rebuilt from its value-kind columns
 * (n, s, b, a, o, in VALUE_KINDS order); none set means null or missing, which
 * the engine's group_by treats alike (a missing group value is null).
 */
export function valueFromColumns(values: readonly unknown[]): JsonValue {
  const [n, s, b, a, o] = values;
  if (typeof n === 'number') return n;
  if (typeof s === 'string') return s;
  if (typeof b === 'boolean') return b;
  if (typeof a === 'string') return parseJsonText(a, 'A stored array value') as JsonValue;
  if (typeof o === 'string') return parseJsonText(o, 'A stored object value') as JsonValue;
  return null;
}
