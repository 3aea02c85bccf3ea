import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TallyConfig } from '@app/config';
import type { Stores } from '../open-stores';
import { InMemoryDeadLetterStore } from '../memory/in-memory-dead-letter.store';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';
import { SqliteMetadataStore, SqliteUnitOfWork } from './sqlite-metadata.store';
import { SqliteDeleteJobStore } from './sqlite-delete-job.store';
import { SqliteSavedQueryStore } from './sqlite-saved-query.store';
import { SqliteDatasetStore } from './sqlite-dataset.store';

const databases = new WeakMap<Stores, SqliteDatabase>();

/** The database under stores opened by openSqliteStores (standalone hands it to its writer thread). */
export function sqliteDatabaseOf(stores: Stores): SqliteDatabase | undefined {
  return databases.get(stores);
}

/** The embedded deployment: events, metadata and delete jobs in one SQLite file. */
export function openSqliteStores(config: TallyConfig): Stores {
  const db = new SqliteDatabase(path.join(config.storage.dataDir, 'tally.db'), {
    maxBytes: config.storage.sqliteMaxBytes,
  });
  const events = new SqliteEventStore(db);
  const metadata = new SqliteMetadataStore(db);
  const stores: Stores = {
    events,
    metadata,
    unitOfWork: new SqliteUnitOfWork(db),
    writes: { kind: 'transactional' },
    deadLetters: new InMemoryDeadLetterStore(),
    deleteJobs: new SqliteDeleteJobStore(db),
    savedQueries: new SqliteSavedQueryStore(db),
    datasets: new SqliteDatasetStore(db),
    idSecret:
      config.idSecret || metadata.setSettingIfAbsent('id_secret', randomBytes(32).toString('hex')),
    maxProperties: config.schema.maxProperties,
    close: async () => db.close(),
  };
  databases.set(stores, db);
  return stores;
}
