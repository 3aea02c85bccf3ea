import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TallyConfig } from '@app/config';
import { EventStore } from './event-store.port';
import { MetadataStore, UnitOfWork } from './metadata-store.port';
import { SqliteDatabase, SqliteEventStore, SqliteMetadataStore, SqliteUnitOfWork } from './sqlite';

export interface Stores {
  events: EventStore;
  metadata: MetadataStore;
  unitOfWork: UnitOfWork;
  /** The keen.id secret: from config, or generated once and kept with the data. */
  idSecret: string;
  close(): Promise<void>;
}

const sequential: UnitOfWork = { run: (work) => work() };

/** Opens the configured drivers; the only place that knows which exist. */
export async function openStores(config: TallyConfig): Promise<Stores> {
  switch (config.storage.kind) {
    case 'sqlite': {
      const db = new SqliteDatabase(path.join(config.storage.dataDir, 'tally.db'));
      const metadata = new SqliteMetadataStore(db);
      const idSecret =
        config.idSecret || metadata.setSettingIfAbsent('id_secret', randomBytes(32).toString('hex'));
      return {
        events: new SqliteEventStore(db),
        metadata,
        unitOfWork: new SqliteUnitOfWork(db),
        idSecret,
        close: async () => db.close(),
      };
    }
    default:
      void sequential;
      throw new Error(`STORE=${config.storage.kind} is not available in this build`);
  }
}
