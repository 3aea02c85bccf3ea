import { exactEqualityValues, Filter } from '@app/query-engine';

/**
 * Filters the store may push down. The engine re-applies every filter, so a
 * pushed-down condition must never be MORE selective than Keen's semantics.
 * Only `eq` / `in` qualify, and only with values for which plain equality is
 * no narrower than Tally's loose equality (`exactEqualityValues`: no numbers
 * or numeric strings, since 3 = "3" = "3.0"; no datetime strings, since two
 * notations of one instant are equal). MongoDB's equality also matches list
 * elements and `null` matches a missing field: both only widen the candidates.
 * Everything else (ranges across types, exists, regex dialects) stays with
 * the engine.
 */
export function pushDownFilters(filters: Filter[]): Record<string, unknown> {
  const clauses: Record<string, unknown>[] = [];
  for (const f of filters) {
    if (!f.property_name || f.property_name.startsWith('keen.id')) continue;
    const values = exactEqualityValues(f);
    if (!values) continue;
    const field = `e.${f.property_name}`;
    clauses.push(values.length === 1 ? { [field]: values[0] } : { [field]: { $in: values } });
  }
  return clauses.length > 0 ? { $and: clauses } : {};
}
