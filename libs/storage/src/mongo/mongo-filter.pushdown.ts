import { Filter } from '@app/query';

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * Filters the store may push down. The engine re-applies every filter, so a
 * pushed-down condition must never be MORE selective than Keen's; only `eq` /
 * `in` with scalar values qualify: MongoDB's equality also matches list
 * elements and numbers across int/double, which only widens the candidates.
 * Everything else (ranges across types, exists on null, regex dialects) stays
 * with the engine.
 */
export function pushDownFilters(filters: Filter[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const clauses: Record<string, unknown>[] = [];
  for (const f of filters) {
    if (!f.property_name || f.property_name.startsWith('keen.id')) continue;
    const field = `e.${f.property_name}`;
    if (f.operator === 'eq' && isScalar(f.property_value)) clauses.push({ [field]: f.property_value });
    else if (f.operator === 'in' && Array.isArray(f.property_value) && f.property_value.length > 0 && f.property_value.every(isScalar)) {
      clauses.push({ [field]: { $in: f.property_value } });
    }
  }
  if (clauses.length > 0) out.$and = clauses;
  return out;
}
