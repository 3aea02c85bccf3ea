import { parseIsoInstant } from '../values/iso-instant';
import { Filter } from './filter.types';
import { numericString } from './loose-compare';

/** Operators a store can evaluate on an index or in its own query language. */
const HINTABLE = new Set(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'exists', 'in']);

export interface Pushdown {
  /** keen.id values every match must have (eq / in on keen.id), or undefined. */
  ids?: string[];
  /** Top-level conjunctive filters a store may apply itself. */
  hints: Filter[];
  /** True when `ids` alone decides every filter, so the store's output is final. */
  exact: boolean;
}

/**
 * Splits out what a store can do itself. A `keen.id` eq/in becomes a point
 * lookup on the id index (docs/design.md, lesson 3: never a scan). Several such
 * filters intersect. The engine still re-applies every filter, so hints only
 * ever make a store return less work, never a different answer.
 */
export function planPushdown(filters: Filter[]): Pushdown {
  let ids: Set<string> | undefined;
  let exact = true;
  const hints: Filter[] = [];
  for (const f of filters) {
    const idList = keenIdValues(f);
    if (idList) {
      ids = ids ? new Set(idList.filter((x) => ids!.has(x))) : new Set(idList);
    } else {
      exact = false;
    }
    if (HINTABLE.has(f.operator)) hints.push(f);
  }
  return { ids: ids ? [...ids] : undefined, hints, exact };
}

function keenIdValues(f: Filter): string[] | undefined {
  if (f.property_name !== 'keen.id') return undefined;
  const v = f.property_value;
  if (f.operator === 'eq' && typeof v === 'string') return [v];
  if (f.operator === 'in' && Array.isArray(v) && v.every((x) => typeof x === 'string')) {
    return v as string[];
  }
  return undefined;
}

/**
 * For stores that push equality down to their own engine: the exact values an
 * `eq` / `in` filter can match, when plain equality on them (also matching
 * list elements) selects no less than Tally's loose semantics; otherwise
 * undefined and the filter must stay with the engine. Unsafe are numbers
 * (they also equal numeric strings: 3 = "3" = "3.0"), numeric strings (they
 * equal numbers) and datetime strings (equal to other notations of the same
 * instant).
 */
export function exactEqualityValues(f: Filter): (string | boolean | null)[] | undefined {
  if (f.operator !== 'eq' && f.operator !== 'in') return undefined;
  const values = f.operator === 'in' ? f.property_value : [f.property_value];
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const out: (string | boolean | null)[] = [];
  for (const v of values) {
    if (v === null || typeof v === 'boolean') out.push(v);
    else if (
      typeof v === 'string' &&
      numericString(v) === undefined &&
      parseIsoInstant(v) === undefined
    )
      out.push(v);
    else return undefined;
  }
  return out;
}
