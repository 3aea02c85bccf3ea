import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { describeDatasetProperty } from '@app/core/testing';
import { openStores } from '../open-stores';

/** Datasets on the standalone wiring: events, change log and buckets in one SQLite file. */
describeDatasetProperty(
  'sqlite',
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-datasets-'));
    return {
      open: () => openStores(loadConfig('cli', { STORE: 'sqlite', DATA_DIR: dir })),
      dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
  Number(process.env.FC_RUNS ?? 40),
);
