import * as path from 'node:path';
import { TallyConfig } from '@app/config';
import type { Stores } from '../open-stores';
import { sqliteDatabaseOf } from '../sqlite/open-sqlite';
import { SqliteChangeFeed } from '../sqlite/sqlite-change-feed';
import { ColumnarCopy } from './columnar-copy';

/**
 * The columnar copy of a standalone server's SQLite events, in `columnar.duckdb`
 * beside `tally.db`, filling itself in the background. Only the process that
 * serves queries opens it (DuckDB locks its file; the CLI never needs it).
 */
export async function openColumnarCopy(
  stores: Stores,
  config: TallyConfig,
  onError: (error: unknown) => void,
): Promise<ColumnarCopy> {
  const db = sqliteDatabaseOf(stores);
  if (!db) throw new Error('the columnar copy follows SQLite stores opened by openSqliteStores');
  const copy = await ColumnarCopy.open(new SqliteChangeFeed(db), {
    path: path.join(config.storage.dataDir, 'columnar.duckdb'),
    threads: config.query.columnar.threads,
    memoryLimit: `${config.query.columnar.memoryMb}MB`,
    onError,
  });
  copy.start();
  return copy;
}
