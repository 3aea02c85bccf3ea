import { JsonObject, TallyError } from '@app/events';
import { ANALYSIS_TYPES, parseQuery, QueryLimits } from '@app/query-engine';

/** Longest saved query name: it is a URL segment and a store key. */
export const MAX_SAVED_QUERY_NAME = 200;
/** Largest definition (query plus metadata, as JSON): a definition is stored and re-read per request. */
export const MAX_SAVED_QUERY_BYTES = 64 * 1024;
/** Keen's bounds for a cached query's refresh rate, in seconds (4 h to 24 h); 0: not cached. */
export const MIN_REFRESH_RATE = 14_400;
export const MAX_REFRESH_RATE = 86_400;

export const INVALID_SAVED_QUERY = 'InvalidSavedQueryError';

/**
 * Letters, digits, `_`, `-` and `.` (not first): a name is a URL segment, and
 * an ASCII name keeps every store's order and key ranges simple (the MongoDB
 * adapter lists a project by an `_id` range that relies on it).
 */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Fields Tally adds to a definition: a client that PUTs back what it got (update_full) may send them. */
const SERVER_FIELDS = new Set([
  'created_date',
  'last_modified_date',
  'run_information',
  'urls',
  'result',
  'display_name',
]);
const CLIENT_FIELDS = new Set(['query', 'refresh_rate', 'metadata', 'query_name']);

/** What a PUT body defines, validated. */
export interface SavedQueryInput {
  query: JsonObject;
  metadata: JsonObject;
  refreshRate: number;
}

const invalid = (message: string) => new TallyError('invalid', INVALID_SAVED_QUERY, message);

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function assertSavedQueryName(name: string): string {
  if (name.length === 0) throw invalid('A saved query needs a name.');
  if (name.length > MAX_SAVED_QUERY_NAME) {
    throw invalid(
      `Saved query names are at most ${MAX_SAVED_QUERY_NAME} characters; this one has ${name.length}.`,
    );
  }
  if (!NAME.test(name)) {
    throw invalid(
      `Saved query name "${name.slice(0, 100)}" may hold only letters, digits, "_", "-" and "." (not first).`,
    );
  }
  return name;
}

export function assertRefreshRate(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    (value === 0 || (value >= MIN_REFRESH_RATE && value <= MAX_REFRESH_RATE))
  ) {
    return value;
  }
  throw invalid(
    `refresh_rate must be 0 (a saved query, computed on each request) or a whole number of seconds from ` +
      `${MIN_REFRESH_RATE} to ${MAX_REFRESH_RATE} (a cached query); got ${JSON.stringify(value)?.slice(0, 50)}.`,
  );
}

/**
 * A PUT body (`{query: {analysis_type, …}, refresh_rate, metadata}`, already
 * through the safe JSON parser) checked the way the query will run: the
 * query engine parses it now, so a bad definition is a 400 at save time, not
 * a failure at every result request.
 */
export function parseSavedQueryBody(
  name: string,
  body: unknown,
  limits: Partial<QueryLimits>,
): SavedQueryInput {
  if (!isObject(body)) {
    throw invalid(
      'The body must be a JSON object: {"query": {"analysis_type": …}, "refresh_rate": …, "metadata": {…}}.',
    );
  }
  for (const key of Object.keys(body)) {
    if (!CLIENT_FIELDS.has(key) && !SERVER_FIELDS.has(key)) {
      throw invalid(
        `Unknown field "${key.slice(0, 100)}"; a saved query has query, refresh_rate, metadata and query_name.`,
      );
    }
  }
  if (Object.hasOwn(body, 'query_name') && body.query_name !== name) {
    throw invalid(
      `query_name ${JSON.stringify(body.query_name)?.slice(0, 120)} differs from the name in the URL ("${name}"); ` +
        'a saved query is renamed by creating the new name and deleting the old one.',
    );
  }
  const refreshRate = assertRefreshRate(body.refresh_rate);
  const metadata = body.metadata ?? {};
  if (!isObject(metadata)) throw invalid('metadata must be a JSON object.');
  const query = parseDefinitionQuery(body.query, limits);
  const bytes = Buffer.byteLength(JSON.stringify({ query, metadata }));
  if (bytes > MAX_SAVED_QUERY_BYTES) {
    throw new TallyError(
      'too_large',
      'SavedQueryTooLargeError',
      `The saved query's query and metadata are ${bytes} bytes as JSON; the limit is ${MAX_SAVED_QUERY_BYTES}.`,
    );
  }
  return { query, metadata, refreshRate };
}

function parseDefinitionQuery(raw: unknown, limits: Partial<QueryLimits>): JsonObject {
  if (!isObject(raw)) throw invalid('query must be a JSON object with an analysis_type.');
  // Keen answers absent parameters as null (group_by, interval, timezone…) and
  // clients send them back: a null means "not set".
  const query: JsonObject = Object.create(null) as JsonObject;
  for (const [key, value] of Object.entries(raw)) if (value !== null) query[key] = value;
  const analysis = query.analysis_type;
  if (typeof analysis !== 'string' || !ANALYSIS_TYPES.includes(analysis as never)) {
    throw invalid(
      `query.analysis_type must be one of ${ANALYSIS_TYPES.join(', ')}; got ${JSON.stringify(analysis)?.slice(0, 60) ?? 'nothing'}.`,
    );
  }
  if (query.email !== undefined) {
    throw invalid(
      'A saved extraction cannot be emailed (email); run the extraction itself with email.',
    );
  }
  // The engine's own 400s name the parameter; the definition is stored as sent (minus nulls).
  parseQuery(analysis, query, limits);
  return { ...query };
}

/** When a cached query computed at `computedAt` (epoch ms) is due again. */
export function nextRefreshAt(refreshRate: number, computedAt: number): number {
  return computedAt + refreshRate * 1000;
}
