import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { openStores } from '../open-stores';
import { CAP, describeSchemaCap } from '../testing/schema-cap.scenario';

/** The cap on the standalone wiring: events, counters and the admitted set in one SQLite file, reopened from disk. */
describeSchemaCap('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-cap-'));
  return {
    open: () =>
      openStores(
        loadConfig('cli', { STORE: 'sqlite', DATA_DIR: dir, SCHEMA_MAX_PROPERTIES: String(CAP) }),
      ),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
