import * as path from 'node:path';
import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { EVENT_PERSISTER, EventPersister, STORES, Stores } from '@app/storage';
import { persisterFor } from '@app/core';
import { watchThreadCpu } from '@app/http';

/** The built entry of the writer thread, beside this file in dist/. */
export const WRITER_THREAD_ENTRY = path.join(__dirname, 'writer-thread.js');

/** Whatever needs stopping once the queue has drained (the writer thread). */
const PERSISTER_CLOSE = Symbol('PERSISTER_CLOSE');

/**
 * The one persister of this process, for the inline queue and the
 * capped-collections cache. On SQLite it is the writer thread (commits off the
 * event loop, docs/operations.md "Standalone ingest and durability"), and the
 * main connection's own writes wait at its gate; on another store, the
 * in-process persister.
 */
async function openPersister(
  stores: Stores,
  config: TallyConfig,
): Promise<{ persister: EventPersister; close: () => Promise<void> }> {
  if (config.storage.kind !== 'sqlite') {
    return { persister: persisterFor(stores), close: async () => {} };
  }
  const { SqliteWriterThread, sqliteDatabaseOf } = await import('@app/storage/sqlite');
  const db = sqliteDatabaseOf(stores);
  if (!db) throw new Error('the SQLite stores were not opened by openSqliteStores');
  const logger = new Logger('SqliteWriterThread');
  const thread = new SqliteWriterThread({
    entry: WRITER_THREAD_ENTRY,
    file: db.file,
    maxBytes: config.storage.sqliteMaxBytes,
    maxProperties: stores.maxProperties,
    log: (level, message, error) =>
      level === 'error'
        ? logger.error({ err: error }, message)
        : logger.warn({ err: error }, message),
  });
  await thread.start();
  db.setWriteGate((work) => thread.exclusive(work));
  const unwatch = watchThreadCpu('sqlite_writer', () => thread.threadId);
  return {
    persister: thread,
    close: async () => {
      unwatch();
      await thread.close();
      db.setWriteGate(null);
    },
  };
}

class PersisterCloser implements OnApplicationShutdown {
  constructor(@Inject(PERSISTER_CLOSE) private readonly close: () => Promise<void>) {}
  // Nest shuts modules down in reverse order of import: after the queue has
  // drained (IngestQueueModule), before the stores close (StorageModule).
  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }
}

const OPENED = Symbol('OPENED_PERSISTER');

@Global()
@Module({
  providers: [
    { provide: OPENED, inject: [STORES, TALLY_CONFIG], useFactory: openPersister },
    {
      provide: EVENT_PERSISTER,
      inject: [OPENED],
      useFactory: (o: { persister: EventPersister }) => o.persister,
    },
    {
      provide: PERSISTER_CLOSE,
      inject: [OPENED],
      useFactory: (o: { close: () => Promise<void> }) => o.close,
    },
    PersisterCloser,
  ],
  exports: [EVENT_PERSISTER],
})
export class PersisterModule {}
