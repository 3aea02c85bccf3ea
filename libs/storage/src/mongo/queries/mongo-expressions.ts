import type { Document } from 'mongodb';

/**
 * Why a query stays with the TypeScript engine. Thrown while compiling and
 * caught at the top (compileMongoQuery); never reaches a caller.
 */
export class Declined extends Error {}

/** An aggregation expression (a field reference, a literal or an operator document). */
export type Expr = string | number | boolean | null | Date | Document;

/**
 * A body path checked for use in field paths: Keen names never hold `.` or
 * start with `$` (ingest refuses both), but a query may name anything, and a
 * `$` segment would read as an operator in a field path.
 */
export function bodyPath(path: string): string {
  for (const segment of path.split('.')) {
    if (segment === '' || segment.startsWith('$') || segment.includes('\0')) {
      throw new Declined(`property path ${JSON.stringify(path)} cannot be a MongoDB field path`);
    }
  }
  return `e.${path}`;
}

/** The aggregation expression reading a body path (`$e.a.b`). */
export const valueOf = (path: string): string => `$${bodyPath(path)}`;

/*
 * Type tests by MongoDB's comparison order across BSON types (MinKey, null,
 * numbers, strings, objects, arrays, BinData, ObjectId, booleans, dates, …),
 * which aggregation comparisons follow: only operators every MongoDB since 3.6
 * documents, and the ones the project's MongoDB-wire test server implements
 * ($type and $isNumber in expressions are not among those). A missing field
 * compares below null, so it is none of these.
 */

/** A number (int, long, double, decimal). */
export const isNumber = (v: Expr): Document => ({ $and: [{ $gt: [v, null] }, { $lt: [v, ''] }] });

/** A string. */
export const isString = (v: Expr): Document => ({
  $and: [{ $gte: [v, ''] }, { $lt: [v, { $literal: {} }] }],
});

/** An embedded document (a JSON object). */
export const isObject = (v: Expr): Document => ({
  $and: [{ $gte: [v, { $literal: {} }] }, { $lt: [v, { $literal: [] }] }],
});

/** An array: the value itself, or what a path through an array yields. */
export const isArray = (v: Expr): Document => ({
  $and: [{ $gte: [v, { $literal: [] }] }, { $lt: [v, false] }],
});

/** An embedded document or an array (documents, arrays, BinData and ObjectIds sort between). */
export const isStructured = (v: Expr): Document => ({
  $and: [{ $gte: [v, { $literal: {} }] }, { $lt: [v, false] }],
});

/** 1 when any of the tests holds, else 0 (a count of unsure events, summed by $group). */
export function anyOf(tests: Document[]): Expr {
  if (tests.length === 0) return 0;
  return { $cond: [tests.length === 1 ? tests[0] : { $or: tests }, 1, 0] };
}
