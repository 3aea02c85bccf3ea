import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteDatabase } from './sqlite-database';
import { SqliteDatasetStore } from './sqlite-dataset.store';
import { describeDatasetStoreContract } from '../testing/dataset-store.contract';

// A real data file per test, in one temp dir removed at the end.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-datasets-'));
let n = 0;
const nextFile = () => path.join(dir, `tally-${process.pid}-${++n}.db`);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Two connection pairs on one file: what two processes (the server and the CLI) share.
describeDatasetStoreContract('sqlite', async () => {
  const file = nextFile();
  const db = new SqliteDatabase(file);
  const otherDb = new SqliteDatabase(file);
  return {
    store: new SqliteDatasetStore(db),
    other: new SqliteDatasetStore(otherDb),
    close: async () => {
      db.close();
      otherDb.close();
    },
  };
});
