import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteDatabase } from './sqlite-database';
import { SqliteMetadataStore } from './sqlite-metadata.store';
import { describeMetadataStoreContract } from '../testing/metadata-store.contract';

// A real data file per test, in one temp dir removed at the end.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-metadata-'));
let n = 0;
const nextFile = () => path.join(dir, `tally-${process.pid}-${++n}.db`);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeMetadataStoreContract('sqlite', async () => {
  const db = new SqliteDatabase(nextFile());
  const store = new SqliteMetadataStore(db);
  return {
    store,
    close: async () => {
      await store.close();
      db.close();
    },
  };
});

/**
 * Settings are not part of the MetadataStore port: standalone keeps its
 * generated keen.id secret beside the data it keys, and only this adapter has them.
 */
describe('sqlite: MetadataStore settings', () => {
  it('keeps the first value of a setting: a second setSettingIfAbsent returns it, also after a reopen', async () => {
    const file = nextFile();
    const db = new SqliteDatabase(file);
    try {
      const store = new SqliteMetadataStore(db);
      expect(store.getSetting('id_secret')).toBeUndefined();
      expect(store.setSettingIfAbsent('id_secret', 'first')).toBe('first');
      expect(store.setSettingIfAbsent('id_secret', 'second')).toBe('first');
      expect(store.getSetting('id_secret')).toBe('first');
      expect(store.setSettingIfAbsent('constructor', 'naïve 日本')).toBe('naïve 日本');
      expect(store.getSetting('toString')).toBeUndefined();
    } finally {
      db.close();
    }
    const reopened = new SqliteDatabase(file);
    try {
      const store = new SqliteMetadataStore(reopened);
      expect(store.setSettingIfAbsent('id_secret', 'third')).toBe('first');
      expect(store.getSetting('constructor')).toBe('naïve 日本');
    } finally {
      reopened.close();
    }
  });
});
