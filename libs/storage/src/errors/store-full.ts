import { TallyError } from '@app/events';

/**
 * A store that cannot grow: the disk under it is full, or (embedded store) the
 * database reached its configured size cap. Unlike an unavailable store this
 * does not pass by itself — someone must free space — but nothing was written
 * either: the transaction that hit it was rolled back whole, so the client may
 * safely retry the same request once space returns. The HTTP layer answers
 * 507 InsufficientStorageError with Retry-After.
 */
export class StoreFullError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreFullError';
  }
}

/** What clients are told when the store says only "full" (no adapter wording of its own). */
export const STORE_FULL_MESSAGE =
  'The event store is out of disk space; nothing from this request was stored or deleted. ' +
  'Retry later: writes resume as soon as space is freed.';

/**
 * Driver wordings of "out of space", matched by code and message so that no
 * driver type leaves libs/storage:
 * - better-sqlite3: code SQLITE_FULL (a write that hit ENOSPC, or max_page_count);
 * - Node's fs and any driver passing the OS error on: code ENOSPC;
 * - MongoDB: error code 14031 (OutOfDiskSpace), or WiredTiger's "No space left
 *   on device" in the message;
 * - Cassandra and Redis (AOF/RDB write errors) pass the OS wording on in the message.
 */
const FULL_CODES = new Set<unknown>(['SQLITE_FULL', 'ENOSPC', 14031]);
const FULL_MESSAGE = /no space left on device|database or disk is full|OutOfDiskSpace/i;

export function isStoreFullError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    // A domain error's message may quote client input ("no space left…" is a valid property name).
    if (e instanceof TallyError) return false;
    if (e instanceof StoreFullError) return true;
    if (FULL_CODES.has((e as { code?: unknown }).code)) return true;
    if (FULL_MESSAGE.test(e.message)) return true;
  }
  return false;
}
