import { JsonValue } from '@app/events';
import { canonicalJson, Filter, numericString, parseIsoInstant } from '@app/query-engine';
import { ColumnKind } from './column-layout';
import type { SqlParam } from './event-table';
import { Decline, SqlParams } from './sql-params';

/** The typed columns a path has in the queried collection: kind → column name. */
export type PathColumns = ReadonlyMap<ColumnKind, string>;

export interface FilterContext {
  columnsOf(path: string): PathColumns;
  params: SqlParams;
  maxInValues: number;
}

/**
 * Keen filters as one SQL condition, operator by operator the same case
 * analysis as the engine's compile-filters.ts and loose-compare.ts, over the
 * typed columns instead of the JSON value: each JSON type of the actual value
 * lives in its own column, so each branch of the engine's `switch (typeof
 * actual)` becomes one disjunct over one column. A missing path has every
 * column NULL; every comparison is wrapped in COALESCE(…, FALSE) so NULL
 * never leaks into NOT (ne, not_contains and exists:false are true when
 * missing, exactly as the engine says).
 *
 * Declined (the query stays with the engine): regex and within (no exact
 * SQL yet), any comparison on a path that holds arrays in this collection
 * (the engine matches any element; not compiled in this slice), and operand
 * strings whose order DuckDB (UTF-8 bytes) and JavaScript (UTF-16 code units)
 * could disagree on.
 */
export function filtersSql(filters: readonly Filter[], ctx: FilterContext): string {
  if (filters.length === 0) return 'TRUE';
  return filters.map((f) => `(${filterSql(f, ctx)})`).join(' AND ');
}

function filterSql(f: Filter, ctx: FilterContext): string {
  if (f.operator === 'or') {
    const subs = f.operands ?? [];
    if (subs.length === 0) return 'FALSE';
    return subs.map((s) => `(${filterSql(s, ctx)})`).join(' OR ');
  }
  const cols = ctx.columnsOf(f.property_name);
  if (cols.has('u')) throw new Decline(`${f.property_name} holds strings DuckDB cannot store unchanged`);
  const value: JsonValue = f.property_value === undefined ? null : f.property_value;
  switch (f.operator) {
    case 'exists': {
      const want = value === true || value === 'true';
      const present = presentSql(cols);
      return want ? present : `NOT (${present})`;
    }
    case 'eq':
      return eqSql(cols, value, ctx, f);
    case 'ne':
      return `NOT (${eqSql(cols, value, ctx, f)})`;
    case 'lt':
      return orderSql(cols, value, '<', ctx, f);
    case 'lte':
      return orderSql(cols, value, '<=', ctx, f);
    case 'gt':
      return orderSql(cols, value, '>', ctx, f);
    case 'gte':
      return orderSql(cols, value, '>=', ctx, f);
    case 'in':
      return inSql(cols, value, ctx, f);
    case 'contains':
      return containsSql(cols, value, ctx, f);
    case 'not_contains':
      return `NOT (${containsSql(cols, value, ctx, f)})`;
    default:
      throw new Decline(`operator ${f.operator} is not compiled`);
  }
}

/** The path is present (null included): any of its columns is set. */
export function presentSql(cols: PathColumns): string {
  if (cols.size === 0) return 'FALSE';
  return [...cols.values()].map((c) => `${c} IS NOT NULL`).join(' OR ');
}

function noArrays(cols: PathColumns, f: Filter): void {
  if (cols.has('a')) {
    throw new Decline(`${f.property_name} holds arrays in this collection (${f.operator} on elements)`);
  }
}

/** Disjuncts, each NULL-safe, or FALSE when no column can match. */
function anyOf(parts: string[]): string {
  if (parts.length === 0) return 'FALSE';
  return parts.map((p) => `COALESCE(${p}, FALSE)`).join(' OR ');
}

/**
 * looseEquals for a non-array actual (loose-compare.ts scalarEquals): a number
 * equals a number or a numeric string's value; a string equals the same
 * string, a datetime naming the same instant, or (as a numeric string) a
 * number; booleans and null only themselves; objects structurally.
 */
function eqSql(cols: PathColumns, value: JsonValue, ctx: FilterContext, f: Filter): string {
  noArrays(cols, f);
  const p = ctx.params;
  const parts: string[] = [];
  const n = cols.get('n');
  const s = cols.get('s');
  const ns = cols.get('ns');
  const t = cols.get('t');
  const b = cols.get('b');
  const z = cols.get('z');
  const o = cols.get('o');
  if (typeof value === 'number') {
    if (n) parts.push(`${n} = ${p.add(value)}`);
    if (ns) parts.push(`${ns} = ${p.add(value)}`);
  } else if (typeof value === 'string') {
    const num = numericString(value);
    const instant = parseIsoInstant(value);
    if (n && num !== undefined) parts.push(`${n} = ${p.add(num)}`);
    if (s) parts.push(`${s} = ${p.add(value)}`);
    if (t && instant !== undefined) parts.push(`${t} = ${p.instant(instant)}`);
  } else if (typeof value === 'boolean') {
    if (b) parts.push(`${b} = ${p.add(value)}`);
  } else if (value === null) {
    if (z) parts.push(z);
  } else if (!Array.isArray(value)) {
    if (o) parts.push(`${o} = ${p.add(canonicalJson(value))}`);
  }
  // An array operand equals only an array actual, and arrays declined above.
  return anyOf(parts);
}

/**
 * scalarOrder for a non-array actual: numbers against a number or numeric
 * string operand; strings against a string operand (as instants when both are
 * datetimes, else by code units) or, when numeric, against a number operand;
 * booleans against a boolean. Everything else is incomparable: false.
 */
function orderSql(
  cols: PathColumns,
  value: JsonValue,
  op: '<' | '<=' | '>' | '>=',
  ctx: FilterContext,
  f: Filter,
): string {
  noArrays(cols, f);
  const p = ctx.params;
  const parts: string[] = [];
  const n = cols.get('n');
  const s = cols.get('s');
  const ns = cols.get('ns');
  const t = cols.get('t');
  const b = cols.get('b');
  if (typeof value === 'number') {
    if (n) parts.push(`${n} ${op} ${p.add(value)}`);
    if (ns) parts.push(`${ns} ${op} ${p.add(value)}`);
  } else if (typeof value === 'string') {
    const num = numericString(value);
    if (n && num !== undefined) parts.push(`${n} ${op} ${p.add(num)}`);
    if (s) {
      assertSameStringOrder(value);
      const instant = parseIsoInstant(value);
      const plain = `${s} ${op} ${p.add(value)}`;
      parts.push(
        instant !== undefined && t
          ? `CASE WHEN ${t} IS NOT NULL THEN ${t} ${op} ${p.instant(instant)} ELSE ${plain} END`
          : plain,
      );
    }
  } else if (typeof value === 'boolean') {
    if (b) parts.push(`${b} ${op} ${p.add(value)}`);
  }
  return anyOf(parts);
}

/**
 * DuckDB orders VARCHAR by UTF-8 bytes, i.e. by code point; the engine by
 * UTF-16 code units. The two differ only where one side has a supplementary
 * character and the other a code unit in U+E000–U+FFFF at the first
 * difference. When the operand has no code unit at or above U+D800, any
 * actual character that differs from the operand's there is either below
 * U+D800 (same order both ways) or above every operand unit in both orders.
 */
function assertSameStringOrder(value: string): void {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0xd800) {
      throw new Decline('string ordering against an operand beyond U+D7FF');
    }
  }
}

/**
 * `in` as InSet (in-set.ts) forms it: a number matches listed numbers and
 * listed numeric strings' values; a string matches identical listed strings,
 * listed datetimes naming its instant, and (when numeric) listed numbers;
 * booleans and null themselves; objects structurally.
 */
function inSql(cols: PathColumns, value: JsonValue, ctx: FilterContext, f: Filter): string {
  if (!Array.isArray(value)) throw new Decline('"in" without a list (the engine reports it)');
  if (value.length > ctx.maxInValues) throw new Decline('"in" list over maxInValues (the engine reports it)');
  noArrays(cols, f);
  const numbers: number[] = [];
  const numberValues: number[] = [];
  const strings: string[] = [];
  const instants: number[] = [];
  const booleans: boolean[] = [];
  const structured: string[] = [];
  let hasNull = false;
  for (const v of value) {
    if (v === null) hasNull = true;
    else if (typeof v === 'number') {
      numbers.push(v);
      numberValues.push(v);
    } else if (typeof v === 'string') {
      strings.push(v);
      const num = numericString(v);
      if (num !== undefined) numbers.push(num);
      const instant = parseIsoInstant(v);
      if (instant !== undefined) instants.push(instant);
    } else if (typeof v === 'boolean') booleans.push(v);
    else if (!Array.isArray(v)) structured.push(canonicalJson(v));
  }
  const p = ctx.params;
  // Placeholders only for lists a column can match: an unused parameter is an error.
  const list = <T>(kind: ColumnKind, items: T[], bind: (x: T) => string) => {
    const col = cols.get(kind);
    return col && items.length > 0 ? [`${col} IN (${items.map(bind).join(', ')})`] : [];
  };
  const add = (x: SqlParam) => p.add(x);
  return anyOf([
    ...list('n', numbers, add),
    ...list('ns', numberValues, add),
    ...list('s', strings, add),
    ...list('t', instants, (x) => p.instant(x)),
    ...list('b', booleans, add),
    ...list('o', structured, add),
    ...(hasNull && cols.get('z') ? [cols.get('z') as string] : []),
  ]);
}

/** contains: a substring of a string actual (numbers and booleans as their JavaScript text). */
function containsSql(cols: PathColumns, value: JsonValue, ctx: FilterContext, f: Filter): string {
  noArrays(cols, f);
  const s = cols.get('s');
  const needle =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  if (!s || needle === undefined) return 'FALSE';
  return anyOf([`contains(${s}, ${ctx.params.add(needle)})`]);
}
