import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeDeleteLifecycle, openLifecycleStores } from '@app/core/testing';

/** The delete lifecycle on the standalone wiring: events and counters in one SQLite file. */
describeDeleteLifecycle('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-lifecycle-'));
  return openLifecycleStores({ STORE: 'sqlite', DATA_DIR: dir }, async () =>
    fs.rmSync(dir, { recursive: true, force: true }),
  );
});
