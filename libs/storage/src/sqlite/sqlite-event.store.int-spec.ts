import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeEventStoreContract } from '../testing/event-store.contract';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';

describeEventStoreContract('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-contract-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  return {
    store: new SqliteEventStore(db),
    close: async () => {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
