import { Filter, parseFilters, Query } from '@app/query-engine';
import { StoredKey } from '@app/storage';

/**
 * What the key running a query forces on it: an access key's
 * `options.queries.filters`, AND-ed into every query it runs (ad-hoc,
 * extraction, saved, cached). The client's own filters are kept beside them,
 * so a query can narrow what the key sees but never widen it.
 */
export interface QueryScope {
  filters: Filter[];
}

export const UNSCOPED: QueryScope = { filters: [] };

/** The query with the scope's filters added (to every step of a funnel). */
export function applyScope(query: Query, scope: QueryScope | undefined): Query {
  if (!scope || scope.filters.length === 0) return query;
  if (query.analysis_type === 'funnel') {
    return {
      ...query,
      steps: query.steps.map((step) => ({ ...step, filters: [...step.filters, ...scope.filters] })),
    };
  }
  return { ...query, filters: [...query.filters, ...scope.filters] };
}

// Parsed once per key object; the key cache replaces the objects when it reloads.
const scopes = new WeakMap<StoredKey, QueryScope>();

/**
 * The scope of a key: an access key's `options.queries.filters` (checked
 * when the key was written), nothing for the role keys.
 */
export function scopeOfKey(key: StoredKey | undefined): QueryScope {
  if (!key || key.role !== 'access') return UNSCOPED;
  let scope = scopes.get(key);
  if (!scope) {
    const queries = key.access?.options?.queries;
    const raw =
      queries && typeof queries === 'object' && !Array.isArray(queries)
        ? (queries as { filters?: unknown }).filters
        : undefined;
    scope = { filters: parseFilters(raw, 'options.queries.filters') };
    scopes.set(key, scope);
  }
  return scope;
}
