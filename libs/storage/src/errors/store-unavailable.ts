import { TallyError } from '@app/events';
import { isStoreFullError } from './store-full';

/**
 * Errors a store driver raises when the server is unreachable, overloaded or
 * timing out — as opposed to errors about the request itself. The HTTP layer
 * answers these with 503 + Retry-After (the client should retry) instead of a
 * 500. Matched by name so no driver type leaves libs/storage.
 */
const UNAVAILABLE_NAMES = new Set([
  // mongodb
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoPoolClearedError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  // cassandra-driver
  'NoHostAvailableError',
  'OperationTimedOutError',
  'BusyConnectionError',
]);

/**
 * cassandra-driver's ResponseError codes that describe the cluster, not the
 * request: unavailable (0x1000), overloaded (0x1001), bootstrapping (0x1002),
 * write and read timeouts (0x1100, 0x1200), read and write failures (0x1300,
 * 0x1500). A node that has just restarted answers with these for a while.
 */
const CASSANDRA_UNAVAILABLE_CODES = new Set([
  0x1000, 0x1001, 0x1002, 0x1100, 0x1200, 0x1300, 0x1500,
]);

function isCassandraUnavailable(e: Error): boolean {
  const code = (e as Error & { code?: unknown }).code;
  return (
    e.name === 'ResponseError' && typeof code === 'number' && CASSANDRA_UNAVAILABLE_CODES.has(code)
  );
}

export function isStoreUnavailableError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (UNAVAILABLE_NAMES.has(e.name) || UNAVAILABLE_NAMES.has(e.constructor.name)) return true;
    if (isCassandraUnavailable(e)) return true;
  }
  return false;
}

/**
 * Whether work that failed with `error` should be retried later rather than
 * failed: the driver says the store is unreachable or timing out, or a store
 * adapter says so itself (a TallyError of kind `unavailable`, e.g. counters of
 * an earlier delivery still pending, or a write the store did not keep), or
 * the store is out of space (the write was rolled back whole and succeeds once
 * space is freed; a full disk never makes an event poison). The worker keeps
 * such events in their job; a delete job resumes on a later claim.
 */
export function isRetryableStoreError(error: unknown): boolean {
  return (
    (error instanceof TallyError && error.kind === 'unavailable') ||
    isStoreUnavailableError(error) ||
    isStoreFullError(error)
  );
}
