/**
 * Entry of standalone's SQLite writer thread (started by SqliteWriterThread
 * from the built file, dist/apps/standalone/src/writer-thread.js): the same
 * write use case the process would run itself, over the thread's own
 * connection. It lives here because the SQLite adapter may not import the
 * use cases (docs/architecture.md).
 */
import { persisterFor } from '@app/core';
import { runSqliteWriterThread } from '@app/storage/sqlite';

runSqliteWriterThread((stores) => persisterFor(stores));
