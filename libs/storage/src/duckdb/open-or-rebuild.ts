import * as fs from 'node:fs';
import { ChangeFeed } from '../ports/change-feed.port';
import { ColumnarCopy, ColumnarCopyOptions } from './columnar-copy';

/**
 * Opens the columnar copy at `options.path`. The copy is derived data (SQLite
 * is the store of record), so a file DuckDB cannot open as its database
 * (truncated by a full disk, damaged, written by an incompatible version) is
 * moved aside, named `<file>.unreadable-<time>` for an operator to look at, and
 * the copy starts over from SQLite. Without this the columnar thread failed
 * at every start, once a second, for good, and every query took the
 * TypeScript engine.
 *
 * A file held by another process (DuckDB's lock) is left alone: that process
 * is using it, and the error stands.
 */
export async function openOrRebuild(
  feed: ChangeFeed,
  options: ColumnarCopyOptions & { path: string },
  log: (message: string) => void = () => undefined,
): Promise<ColumnarCopy> {
  try {
    return await ColumnarCopy.open(feed, options);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    if (isLockConflict(message) || !fs.existsSync(options.path)) throw error;
    const aside = `${options.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(options.path, aside);
    // The write-ahead log belongs to the file it was written for.
    if (fs.existsSync(`${options.path}.wal`)) fs.renameSync(`${options.path}.wal`, `${aside}.wal`);
    log(`columnar copy unreadable (${message}); moved to ${aside}, rebuilding from the store`);
    return ColumnarCopy.open(feed, options);
  }
}

export function isLockConflict(message: string): boolean {
  return /could not set lock|conflicting lock/i.test(message);
}
