import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { openStores } from '../open-stores';
import { describeDeleteLifecycle } from '../testing/delete-lifecycle.contract';

/** The delete lifecycle on the standalone wiring: events and counters in one SQLite file. */
describeDeleteLifecycle('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-lifecycle-'));
  const stores = await openStores(loadConfig('query', { STORE: 'sqlite', DATA_DIR: dir }));
  return {
    stores,
    close: async () => {
      await stores.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
