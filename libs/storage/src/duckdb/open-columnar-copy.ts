import * as path from 'node:path';
import { TallyConfig } from '@app/config';
import type { Stores } from '../open-stores';
import { sqliteDatabaseOf } from '../sqlite/open-sqlite';
import type { CopyProgress } from './columnar-copy';
import { tuneDuckdbAllocator } from './duckdb-allocator';
import { ColumnarThread } from './columnar-thread/columnar-thread';
import { lowerThreadpoolPriority } from './columnar-thread/query-priority';

/**
 * The columnar copy of a standalone server's SQLite events, in
 * `columnar.duckdb` beside `tally.db`, run by its own thread (started from
 * `entry`, which calls runColumnarThread) and filling itself in the
 * background. Only the process that serves queries opens it (DuckDB locks its
 * file; the CLI never needs it). Its queries run at a lower priority than
 * ingest (QUERY_COLUMNAR_NICE; query-priority.ts), and its allocator returns
 * freed memory at once (duckdb-allocator.ts).
 */
export async function openColumnarCopy(
  stores: Stores,
  config: TallyConfig,
  entry: string,
  log: (message: string) => void,
  onProgress?: (progress: CopyProgress) => void,
): Promise<ColumnarThread> {
  const db = sqliteDatabaseOf(stores);
  if (!db) throw new Error('the columnar copy follows SQLite stores opened by openSqliteStores');
  const priority = await lowerThreadpoolPriority(config.query.columnar.nice);
  if ('skipped' in priority) {
    if (config.query.columnar.nice > 0)
      log(`compiled queries keep the server's priority: ${priority.skipped}`);
  } else if (priority.lowered < priority.of) {
    log(
      `compiled queries: ${priority.lowered} of ${priority.of} pool threads run at nice ${priority.nice}; the others were not found`,
    );
  }
  tuneDuckdbAllocator();
  const thread = new ColumnarThread({
    entry,
    file: db.file,
    copyPath: path.join(config.storage.dataDir, 'columnar.duckdb'),
    threads: config.query.columnar.threads,
    memoryLimit: `${config.query.columnar.memoryMb}MB`,
    projectColumns: config.query.columnar.projectColumns,
    log,
    onProgress,
  });
  thread.start();
  return thread;
}
