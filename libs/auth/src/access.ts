import { TallyError } from '@app/events';
import { KeyPermission, StoredKey } from '@app/storage';

/**
 * What an operation needs. `read` is running ad-hoc queries (and extractions);
 * `schema`, `saved_queries`, `cached_queries` and `datasets` are Keen's finer
 * read rights. A read key has every read right, a write key only `write`, the
 * master key everything; an access key what its `permitted` list names.
 */
export type Access =
  'write' | 'read' | 'master' | 'schema' | 'saved_queries' | 'cached_queries' | 'datasets';

const READS: readonly Access[] = ['read', 'schema', 'saved_queries', 'cached_queries', 'datasets'];

/** Keen's `permitted` names → the access each grants. */
export const PERMISSION_ACCESS: Readonly<Record<KeyPermission, Access>> = {
  writes: 'write',
  queries: 'read',
  schema: 'schema',
  saved_queries: 'saved_queries',
  cached_queries: 'cached_queries',
  datasets: 'datasets',
};

export function keyAllows(key: StoredKey, access: Access): boolean {
  switch (key.role) {
    case 'master':
      return true;
    case 'write':
      return access === 'write';
    case 'read':
      return READS.includes(access);
    case 'access':
      return (key.access?.permitted ?? []).some((p) => PERMISSION_ACCESS[p] === access);
  }
}

export function missingKey(): TallyError {
  return new TallyError(
    'unauthorized',
    'InvalidApiKeyError',
    "Specified API Key is invalid. API Key: 'None'.",
  );
}

export function invalidKey(): TallyError {
  return new TallyError(
    'unauthorized',
    'InvalidApiKeyError',
    'Specified API Key is invalid for this project.',
  );
}

function describe(key: StoredKey): string {
  return key.role === 'access'
    ? `an access key permitted ${JSON.stringify(key.access?.permitted ?? [])}`
    : `a ${key.role} key`;
}

export function forbidden(key: StoredKey, access: Access | readonly Access[]): TallyError {
  const wanted = typeof access === 'string' ? [access] : access;
  if (wanted.includes('master')) {
    return new TallyError(
      'forbidden',
      'AdminOnlyEndpointError',
      `This operation needs the master key; ${describe(key)} was given.`,
    );
  }
  const rights = wanted.map((a) => (a === 'read' ? 'queries' : a)).join(' or ');
  return new TallyError(
    'forbidden',
    'InsufficientKeyPermissionsError',
    `This operation needs a key permitted ${rights} (a ${wanted.includes('write') ? 'write' : 'read'} key or the master key has it); ${describe(key)} was given.`,
  );
}

/**
 * An access key's allow and block lists for named resources
 * (`options.saved_queries`, `options.cached_queries`, `options.datasets`):
 * with `allowed`, only the names listed; never a name in `blocked`.
 */
export function assertNamedAllowed(
  key: StoredKey,
  kind: 'saved_queries' | 'cached_queries' | 'datasets',
  name: string,
): void {
  if (key.role !== 'access') return;
  const lists = key.access?.options?.[kind];
  if (!lists || typeof lists !== 'object' || Array.isArray(lists)) return;
  const { allowed, blocked } = lists as { allowed?: unknown; blocked?: unknown };
  const refused =
    (Array.isArray(allowed) && !allowed.includes(name)) ||
    (Array.isArray(blocked) && blocked.includes(name));
  if (refused) {
    throw new TallyError(
      'forbidden',
      'InsufficientKeyPermissionsError',
      `This access key may not use the ${kind.replace('_', ' ').replace(/s$/, '')} "${name.slice(0, 100)}" (options.${kind}).`,
    );
  }
}

export function unknownProject(projectId: string): TallyError {
  return new TallyError(
    'not_found',
    'ProjectNotFoundError',
    `Project "${projectId.slice(0, 100)}" does not exist.`,
  );
}

/** What an access key may read of one dataset, beyond `permitted` (assertDatasetAccess). */
export interface DatasetLimits {
  /** `options.datasets.allowed[name].index_by`: property → the values it may read. */
  allowedIndex?: Record<string, unknown>;
  /** `options.queries.filters`, which the dataset's index must satisfy (DatasetsService.results). */
  forcedFilters?: unknown[];
}

/**
 * An access key's rights on datasets beyond `permitted`: `options.datasets`
 * `operations` (read = results, list, retrieve = a definition) and its allow
 * and block lists. What it may read of a dataset is returned: the index values
 * it is limited to, and its forced query filters (a dataset's values are
 * computed without them, so a read is allowed only where they hold anyway).
 */
export function assertDatasetAccess(
  key: StoredKey,
  operation: 'read' | 'list' | 'retrieve',
  name?: string,
): DatasetLimits {
  if (key.role !== 'access') return {};
  const options = key.access?.options ?? {};
  const refuse = (why: string) =>
    new TallyError('forbidden', 'InsufficientKeyPermissionsError', `This access key ${why}.`);
  const datasets = (options.datasets ?? {}) as {
    operations?: string[];
    allowed?: Record<string, { index_by?: Record<string, unknown> }>;
    blocked?: string[];
  };
  if (Array.isArray(datasets.operations) && !datasets.operations.includes(operation)) {
    throw refuse(`may not ${operation} datasets (options.datasets.operations)`);
  }
  if (name === undefined) return {};
  const allowed = datasets.allowed;
  if (
    (allowed && !Object.hasOwn(allowed, name)) ||
    (Array.isArray(datasets.blocked) && datasets.blocked.includes(name))
  ) {
    throw refuse(`may not use the dataset "${name.slice(0, 100)}" (options.datasets)`);
  }
  const queries = options.queries as { filters?: unknown[] } | undefined;
  const forced =
    Array.isArray(queries?.filters) && queries.filters.length > 0 ? queries.filters : undefined;
  return { allowedIndex: allowed?.[name]?.index_by, forcedFilters: forced };
}
