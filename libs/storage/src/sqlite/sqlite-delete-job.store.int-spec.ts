import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteDatabase } from './sqlite-database';
import { SqliteDeleteJobStore } from './sqlite-delete-job.store';
import { describeDeleteJobStoreContract } from '../testing/delete-job-store.contract';

// Two connections to one file, as a restarted process and a CLI would have;
// the contract's racing claims go through SQLite's own file lock.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-jobs-'));
const open: SqliteDatabase[] = [];
let n = 0;

afterEach(() => {
  while (open.length > 0) open.pop()!.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeDeleteJobStoreContract('sqlite', async () => {
  const file = path.join(dir, `tally-${++n}.db`);
  const first = new SqliteDatabase(file);
  const second = new SqliteDatabase(file);
  open.push(first, second);
  return { a: new SqliteDeleteJobStore(first), b: new SqliteDeleteJobStore(second) };
});
