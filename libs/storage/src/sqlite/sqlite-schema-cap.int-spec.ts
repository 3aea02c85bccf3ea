import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { openStores } from '../open-stores';
import { CAP, describeSchemaCap } from '@app/core/testing';
import { SqliteDatabase } from './sqlite-database';
import { SqliteMetadataStore } from './sqlite-metadata.store';
import { MIGRATIONS } from './sqlite-migrations';

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

describe('schema property cap: SQLite upgrade', () => {
  it('admits the paths counted before the cap existed (migration 2), keen paths aside', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-cap-upgrade-'));
    const file = path.join(dir, 'tally.db');
    // A data file as the previous version left it: migration 1 only, with counters.
    const old = new Database(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)');
    old.exec(MIGRATIONS[0]);
    old.prepare('INSERT INTO schema_migrations (version) VALUES (1)').run();
    const counter = old.prepare(
      'INSERT INTO schema_counters (project, collection, path, type, count) VALUES (?, ?, ?, ?, ?)',
    );
    for (const [p, type] of [
      ['user', 'object'],
      ['user.id', 'num'],
      ['user.id', 'string'],
      ['keen', 'object'],
      ['keen.id', 'string'],
      ['keen.location.coordinates', 'list'],
      ['KEEN.x', 'num'],
    ]) {
      counter.run('p', 'c', p, type, 2);
    }
    old.close();

    const db = new SqliteDatabase(file);
    try {
      const cap = await new SqliteMetadataStore(db).getSchemaCap('p', 'c');
      expect(cap).toEqual({
        admittedCount: 4,
        admitted: ['KEEN.x', 'keen.location.coordinates', 'user', 'user.id'],
        capped: false,
      });
    } finally {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
