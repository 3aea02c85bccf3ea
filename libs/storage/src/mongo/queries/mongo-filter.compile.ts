import type { Document } from 'mongodb';
import { JsonValue } from '@app/events';
import { containsNeedle, Filter, numericString, parseIsoInstant } from '@app/query-engine';
import { PropertyType } from '@app/schema';
import { bodyPath, Declined, isArray, isString, valueOf } from './mongo-expressions';
import { Guards } from './mongo-guards';

/**
 * Keen filters as one `$match` condition plus the tests that say, per
 * matched event, whether that condition may have judged it differently from
 * the engine (compile-filters.ts, loose-compare.ts, in-set.ts).
 *
 * MongoDB's own equality and ordering agree with Keen's for most values:
 * numbers against numbers, strings against strings (by code units, see
 * assertSameStringOrder), booleans against booleans, and its type bracketing
 * makes a number never match a string operand and so on, as the engine says.
 * They differ for three kinds of value, and an event holding one is "unsure":
 *
 * - a string where the operand is a number (numeric strings compare
 *   numerically in Keen) or a datetime (two notations of one instant are equal);
 * - an array (Keen matches any element with its own rules, and an array
 *   inside an array never);
 * - a path through an array (`a.b` where `a` is a list: MongoDB reaches into
 *   the list's objects, Keen's property lookup does not).
 *
 * Unsure events are kept by the `$match` whatever the condition says (so none
 * the engine would count can be lost) and counted by the pipeline with the
 * tests collected in Guards (which the schema counters make cheap where a
 * property never held such values); a query that meets any is answered by
 * the TypeScript engine instead. So an answer from this path is exact, and the common case (a
 * property that always holds one kind of value) never meets the fallback.
 */
export interface FilterLimits {
  maxInValues: number;
}

/** Matches no event (an `or` of nothing, an order against null or a structure). */
const NOTHING: Document = { _id: { $in: [] } };

/** The filters as one `$match` condition; their unsure-event tests go to `guards`. */
export function compileMongoFilters(
  filters: readonly Filter[],
  limits: FilterLimits,
  guards: Guards,
): Document {
  const parts = filters.map((f) => compileFilter(f, limits, guards));
  return parts.length === 0 ? {} : parts.length === 1 ? parts[0] : { $and: parts };
}

function compileFilter(f: Filter, limits: FilterLimits, guards: Guards): Document {
  if (f.operator === 'or') {
    const subs = (f.operands ?? []).map((s) => compileFilter(s, limits, guards));
    return subs.length === 0 ? NOTHING : { $or: subs };
  }
  const field = bodyPath(f.property_name);
  const value: JsonValue = f.property_value === undefined ? null : f.property_value;
  let sure: { match: Document; strings: boolean; arrays: boolean };
  switch (f.operator) {
    case 'exists': {
      const want = value === true || value === 'true';
      // An array value is present for both; only a path through one differs.
      sure = { match: { [field]: { $exists: want } }, strings: false, arrays: false };
      break;
    }
    case 'eq': {
      const eq = equality(field, value);
      sure = { ...eq, arrays: true };
      break;
    }
    case 'ne': {
      const eq = equality(field, value);
      sure = { match: { $nor: [eq.match] }, strings: eq.strings, arrays: true };
      break;
    }
    case 'in':
      sure = { ...inList(field, value, limits.maxInValues), arrays: true };
      break;
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      sure = { ...ordering(field, value, `$${f.operator}`), arrays: true };
      break;
    case 'contains':
      sure = { match: substring(field, value), strings: false, arrays: true };
      break;
    case 'not_contains':
      sure = { match: { $nor: [substring(field, value)] }, strings: false, arrays: true };
      break;
    default:
      throw new Declined(`operator ${f.operator} is not compiled for MongoDB`);
  }
  const always: Document[] = [];
  const inflight: Document[] = [];
  const guard = (path: string, types: PropertyType[], query: Document, test: Document) =>
    (guards.add(path, types, test) ? always : inflight).push(query);
  const path = f.property_name;
  const segments = path.split('.');
  // Every proper prefix holding an array: the path reaches through it.
  for (let i = 1; i < segments.length; i++) {
    const prefix = segments.slice(0, i).join('.');
    guard(prefix, ['list'], { [bodyPath(prefix)]: { $type: 'array' } }, isArray(valueOf(prefix)));
  }
  if (sure.arrays) guard(path, ['list'], { [field]: { $type: 'array' } }, isArray(valueOf(path)));
  if (sure.strings) {
    guard(path, ['string', 'datetime'], { [field]: { $type: 'string' } }, isString(valueOf(path)));
  }
  return guards.keep(sure.match, always, inflight);
}

/**
 * eq on one scalar operand; `strings` when a string actual may equal it in
 * Keen but not in MongoDB (numeric against a number, a datetime against a
 * datetime). A numeric string operand also equals that number.
 */
function equality(field: string, value: JsonValue): { match: Document; strings: boolean } {
  if (typeof value === 'number') return { match: { [field]: value }, strings: true };
  if (typeof value === 'string') {
    const num = numericString(value);
    const match = num === undefined ? { [field]: value } : { [field]: { $in: [value, num] } };
    return { match, strings: parseIsoInstant(value) !== undefined };
  }
  if (typeof value === 'boolean') return { match: { [field]: value }, strings: false };
  // `{field: null}` would also match a missing field, which eq never does.
  if (value === null) return { match: { [field]: { $type: 'null' } }, strings: false };
  throw new Declined('eq with an object or array operand is not compiled for MongoDB');
}

/** in: InSet's forms (in-set.ts) as one `$in` list. */
function inList(
  field: string,
  value: JsonValue,
  maxInValues: number,
): { match: Document; strings: boolean } {
  if (!Array.isArray(value)) throw new Declined('"in" without a list (the engine reports it)');
  if (value.length > maxInValues)
    throw new Declined('"in" list over maxInValues (the engine reports it)');
  const listed: (string | number | boolean)[] = [];
  let hasNull = false;
  let strings = false;
  for (const v of value) {
    if (v === null) hasNull = true;
    else if (typeof v === 'number') {
      listed.push(v);
      strings = true;
    } else if (typeof v === 'string') {
      listed.push(v);
      const num = numericString(v);
      if (num !== undefined) listed.push(num);
      if (parseIsoInstant(v) !== undefined) strings = true;
    } else if (typeof v === 'boolean') listed.push(v);
    else throw new Declined('"in" listing an object or array is not compiled for MongoDB');
  }
  const inSet = { [field]: { $in: listed } };
  return { match: hasNull ? { $or: [inSet, { [field]: { $type: 'null' } }] } : inSet, strings };
}

/**
 * lt/lte/gt/gte (scalarOrder): MongoDB's type bracketing compares numbers
 * with numbers, strings with strings and booleans with booleans only, as the
 * engine does. A numeric string operand also orders numbers by its value;
 * null, objects and arrays order against nothing.
 */
function ordering(
  field: string,
  value: JsonValue,
  op: string,
): { match: Document; strings: boolean } {
  if (typeof value === 'number') return { match: { [field]: { [op]: value } }, strings: true };
  if (typeof value === 'boolean') return { match: { [field]: { [op]: value } }, strings: false };
  if (typeof value === 'string') {
    assertSameStringOrder(value);
    const num = numericString(value);
    const byString = { [field]: { [op]: value } };
    const match = num === undefined ? byString : { $or: [byString, { [field]: { [op]: num } }] };
    return { match, strings: parseIsoInstant(value) !== undefined };
  }
  return { match: NOTHING, strings: false };
}

/**
 * contains on a string actual: the operand's text (numbers and booleans as
 * JavaScript writes them) as a substring, through `$regex` with every ASCII
 * punctuation character escaped (a literal in PCRE and Java regexes alike).
 * Other actuals never contain anything; arrays are unsure (element equality).
 */
function substring(field: string, value: JsonValue): Document {
  const needle = containsNeedle(value);
  if (needle === undefined) return NOTHING;
  if (needle.includes('\0')) throw new Declined('contains with a NUL character');
  // `$type` too, in its own clause: the MongoDB-wire test server matches a
  // regex against the text of an embedded document ({x: true} "contains"
  // "true"), and with both operators in one clause it ignores `$type`.
  const pattern = needle.replace(/[^A-Za-z0-9\u0080-\uffff]/g, '\\$&');
  return { $and: [{ [field]: { $type: 'string' } }, { [field]: { $regex: pattern } }] };
}

/**
 * MongoDB orders strings by their UTF-8 bytes (code points), the engine by
 * UTF-16 code units. The two orders differ only at a code unit at or above
 * U+D800 on one side; an operand without one orders every string the same
 * way in both (the argument is spelled out in duckdb/sql-filters.ts).
 */
function assertSameStringOrder(value: string): void {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) >= 0xd800)
      throw new Declined('string ordering against an operand beyond U+D7FF');
  }
}
