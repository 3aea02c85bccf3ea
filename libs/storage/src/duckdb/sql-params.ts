import type { SqlParam } from './event-table';

/**
 * Why a query stays with the TypeScript engine. Thrown while compiling and
 * caught at the top (compile-query.ts); never reaches a caller.
 */
export class Decline extends Error {}

/**
 * Collects bound parameters while SQL text is built: every value that comes
 * from a query (filter operands, project, collection, time bounds) goes in as
 * `$n`, never as text.
 */
export class SqlParams {
  readonly values: SqlParam[] = [];

  /** A placeholder for `value`. Numbers bind as DOUBLE, bigints as BIGINT. */
  add(value: SqlParam): string {
    if (typeof value === 'string') assertBindable(value);
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** A placeholder for an epoch-ms instant, bound as BIGINT. */
  instant(ms: number): string {
    if (!Number.isSafeInteger(ms)) throw new Decline(`instant ${ms} is not a whole millisecond`);
    return this.add(BigInt(ms));
  }
}

/**
 * Strings cross into DuckDB as UTF-8: a lone surrogate (valid in a JavaScript
 * string, not in UTF-8) would be replaced on the way and compare differently
 * than the engine compares it.
 */
function assertBindable(s: string): void {
  if (LONE_SURROGATE.test(s)) throw new Decline('a string operand holds a lone surrogate');
}

export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
