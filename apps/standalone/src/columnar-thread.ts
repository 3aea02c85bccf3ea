/**
 * Entry of the standalone server's columnar thread (started by ColumnarThread
 * from the built file, dist/apps/standalone/src/columnar-thread.js): the
 * columnar copy and its compiled queries, off the HTTP thread.
 */
import { runColumnarThread } from '@app/storage/duckdb';

void runColumnarThread();
