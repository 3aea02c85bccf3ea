import { JsonValue } from '@app/events';
import { canonicalJson, Filter, numericString, parseIsoInstant } from '@app/query-engine';
import { ColumnKind, ELEMENT_KINDS } from './column-layout';
import type { SqlParam } from './event-table';
import { Decline, SqlParams } from './sql-params';

/** The typed columns a path has in the queried collection: kind → column name. */
export type PathColumns = ReadonlyMap<ColumnKind, string>;

export interface FilterContext {
  columnsOf(path: string): PathColumns;
  params: SqlParams;
  maxInValues: number;
  maxRegexLength: number;
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
 * Arrays match when any element matches (the element list column `e`) or,
 * for equality, when the whole array equals (canonical text in `a`).
 *
 * Declined (the query stays with the engine): regex beyond plain literals
 * (see literalRegex), within, and operand strings whose order DuckDB (UTF-8
 * bytes) and JavaScript (UTF-16 code units) could disagree on.
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
      return eqSql(cols, value, ctx);
    case 'ne':
      return `NOT (${eqSql(cols, value, ctx)})`;
    case 'lt':
      return orderSql(cols, value, '<', ctx);
    case 'lte':
      return orderSql(cols, value, '<=', ctx);
    case 'gt':
      return orderSql(cols, value, '>', ctx);
    case 'gte':
      return orderSql(cols, value, '>=', ctx);
    case 'in':
      return inSql(cols, value, ctx);
    case 'contains':
      return containsSql(cols, value, ctx);
    case 'not_contains':
      return `NOT (${containsSql(cols, value, ctx)})`;
    case 'regex':
      return regexSql(cols, value, ctx);
    default:
      throw new Decline(`operator ${f.operator} is not compiled`);
  }
}

/** The path is present (null included): any of its columns is set. */
export function presentSql(cols: PathColumns): string {
  if (cols.size === 0) return 'FALSE';
  return [...cols.values()].map((c) => `${c} IS NOT NULL`).join(' OR ');
}

/** An array element's fields, as the element predicates of list_filter see them. */
const ELEMENT_COLUMNS: PathColumns = new Map(ELEMENT_KINDS.map((k) => [k, `el.${k}`]));

/** Disjuncts, each NULL-safe, or FALSE when no column can match. */
function anyOf(parts: string[]): string {
  if (parts.length === 0) return 'FALSE';
  return parts.map((p) => `COALESCE(${p}, FALSE)`).join(' OR ');
}

/**
 * A comparison over a path's scalar columns and, when the path holds arrays,
 * over its elements (any element matching, as the engine's array rule) and
 * optionally the whole array (`whole`, e.g. equality with a listed array).
 * `scalar` builds the disjuncts for one set of columns; it runs once for the
 * path and once for the element fields.
 */
function withArrays(
  cols: PathColumns,
  scalar: (c: PathColumns) => string[],
  whole: (a: string) => string[] = () => [],
): string {
  const parts = scalar(cols);
  const a = cols.get('a');
  if (a) parts.push(...whole(a));
  const e = cols.get('e');
  if (e) {
    const inner = scalar(ELEMENT_COLUMNS);
    if (inner.length > 0) parts.push(`len(list_filter(${e}, lambda el: ${anyOf(inner)})) > 0`);
  }
  return anyOf(parts);
}

/**
 * looseEquals (loose-compare.ts): for a non-array actual, scalarEquals — a
 * number equals a number or a numeric string's value; a string equals the
 * same string, a datetime naming the same instant, or (as a numeric string) a
 * number; booleans and null only themselves; objects structurally. An array
 * equals a structurally equal array operand, or has an element that equals.
 */
function eqSql(cols: PathColumns, value: JsonValue, ctx: FilterContext): string {
  const p = ctx.params;
  return withArrays(
    cols,
    (c) => eqParts(c, value, p),
    (a) => (Array.isArray(value) ? [`${a} = ${p.add(canonicalJson(value))}`] : []),
  );
}

function eqParts(cols: PathColumns, value: JsonValue, p: SqlParams): string[] {
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
  // An array operand equals only a whole array (withArrays' `whole`).
  return parts;
}

/**
 * scalarOrder: numbers against a number or numeric string operand; strings
 * against a string operand (as instants when both are datetimes, else by code
 * units) or, when numeric, against a number operand; booleans against a
 * boolean. Everything else (null, objects, nested arrays) is incomparable:
 * false. An array matches when any element does.
 */
function orderSql(
  cols: PathColumns,
  value: JsonValue,
  op: '<' | '<=' | '>' | '>=',
  ctx: FilterContext,
): string {
  return withArrays(cols, (c) => orderParts(c, value, op, ctx.params));
}

function orderParts(
  cols: PathColumns,
  value: JsonValue,
  op: '<' | '<=' | '>' | '>=',
  p: SqlParams,
): string[] {
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
  return parts;
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
 * booleans and null themselves; objects structurally; an array matches a
 * structurally equal listed array or has an element that matches.
 */
function inSql(cols: PathColumns, value: JsonValue, ctx: FilterContext): string {
  if (!Array.isArray(value)) throw new Decline('"in" without a list (the engine reports it)');
  if (value.length > ctx.maxInValues) {
    throw new Decline('"in" list over maxInValues (the engine reports it)');
  }
  const numbers: number[] = [];
  const numberValues: number[] = [];
  const strings: string[] = [];
  const instants: number[] = [];
  const booleans: boolean[] = [];
  const objects: string[] = [];
  const arrays: string[] = [];
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
    else if (Array.isArray(v)) arrays.push(canonicalJson(v));
    else objects.push(canonicalJson(v));
  }
  const p = ctx.params;
  const add = (x: SqlParam) => p.add(x);
  // Placeholders only for lists a column can match: an unused parameter is an error.
  const isIn = <T>(col: string | undefined, items: T[], bind: (x: T) => string): string[] =>
    col && items.length > 0 ? [`${col} IN (${items.map(bind).join(', ')})`] : [];
  return withArrays(
    cols,
    (c) => [
      ...isIn(c.get('n'), numbers, add),
      ...isIn(c.get('ns'), numberValues, add),
      ...isIn(c.get('s'), strings, add),
      ...isIn(c.get('t'), instants, (x) => p.instant(x)),
      ...isIn(c.get('b'), booleans, add),
      ...isIn(c.get('o'), objects, add),
      ...(hasNull && c.get('z') ? [c.get('z') as string] : []),
    ],
    (a) => isIn(a, arrays, add),
  );
}

/**
 * contains: a substring of a string actual (numbers and booleans as their
 * JavaScript text); on an array, the same as eq (an element equals, or the
 * whole array does).
 */
function containsSql(cols: PathColumns, value: JsonValue, ctx: FilterContext): string {
  const s = cols.get('s');
  const needle =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  const parts: string[] = [];
  if (s && needle !== undefined) parts.push(`COALESCE(contains(${s}, ${ctx.params.add(needle)}), FALSE)`);
  if (cols.has('a')) parts.push(eqSql(new Map([...cols].filter(([k]) => k === 'a' || k === 'e')), value, ctx));
  return parts.length > 0 ? parts.join(' OR ') : 'FALSE';
}

/**
 * A regex that is a plain literal, optionally anchored (`^2024-03`, `b$`,
 * `^ok$`, `1`): its matches are exactly a prefix, suffix, whole or substring
 * test, whatever the regex engine. Anything with a metacharacter (classes,
 * alternation, repetition, escapes, `.`) is not recognised: DuckDB's RE2 and the
 * engine's re2js are not proven to agree on all of them (Unicode classes over
 * UTF-8 vs UTF-16, among others). RE2 and re2js read `$` as the end of the
 * text, never before a final newline, so `b$` is a suffix test.
 */
export function literalRegex(
  pattern: string,
): { literal: string; start: boolean; end: boolean } | undefined {
  const m = /^(\^?)([A-Za-z0-9 _:,/=@#%&'"<>~`!-]*)(\$?)$/.exec(pattern);
  if (!m) return undefined;
  return { literal: m[2], start: m[1] === '^', end: m[3] === '$' };
}

/** regex on strings (or any string element of an array) for literal patterns; other values never match. */
function regexSql(cols: PathColumns, value: JsonValue, ctx: FilterContext): string {
  if (typeof value !== 'string') throw new Decline('regex without a string pattern (the engine reports it)');
  if (value.length > ctx.maxRegexLength) {
    throw new Decline('regex over maxRegexLength (the engine reports it)');
  }
  const lit = literalRegex(value);
  if (!lit) throw new Decline('regex is not compiled beyond plain literals');
  const p = ctx.params;
  const test = (s: string) =>
    lit.start && lit.end
      ? `${s} = ${p.add(lit.literal)}`
      : lit.start
        ? `starts_with(${s}, ${p.add(lit.literal)})`
        : lit.end
          ? `ends_with(${s}, ${p.add(lit.literal)})`
          : `contains(${s}, ${p.add(lit.literal)})`;
  const parts: string[] = [];
  const s = cols.get('s');
  if (s) parts.push(test(s));
  const e = cols.get('e');
  if (e) parts.push(`len(list_filter(${e}, lambda el: COALESCE(${test('el.s')}, FALSE))) > 0`);
  return anyOf(parts);
}
