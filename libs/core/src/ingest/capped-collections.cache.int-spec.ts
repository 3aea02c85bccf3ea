import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { UnitOfWorkEventPersister } from '../persist/unit-of-work.persister';
import { SILENT_LOG } from '../log.port';
import {
  SqliteDatabase,
  SqliteEventStore,
  SqliteMetadataStore,
  SqliteUnitOfWork,
} from '@app/storage/sqlite';
import { CappedCollectionsCache } from './capped-collections.cache';

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
};

/**
 * The write path's view of capped collections, as in the split deployment:
 * the flag is set by another process (here a second connection to the same
 * SQLite file) and reaches this one through the periodic reload.
 */
describe('CappedCollectionsCache', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-capped-cache-'));
  const file = path.join(dir, 'tally.db');
  const mine = new SqliteDatabase(file);
  const other = new SqliteDatabase(file);
  const metadata = new SqliteMetadataStore(mine);
  const persister = new UnitOfWorkEventPersister(
    new SqliteEventStore(mine),
    metadata,
    new SqliteUnitOfWork(mine),
    2,
  );
  const cache = new CappedCollectionsCache(
    metadata,
    loadConfig('ingest', { KEY_CACHE_REFRESH_MS: '50', QUEUE: 'redis', STORE: 'mongo' }),
    SILENT_LOG,
    persister,
  );

  afterAll(() => {
    cache.onApplicationShutdown();
    mine.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('learns flags set elsewhere within a reload, forgets cleared ones, and hears its own persister at once', async () => {
    await new SqliteMetadataStore(other).updateSchemaCap('p', 'before', ['a'], true);
    await cache.onModuleInit();
    expect(cache.isCapped('p', 'before')).toBe(true);
    expect(cache.isCapped('p', 'later')).toBe(false);

    await new SqliteMetadataStore(other).updateSchemaCap('p', 'later', [], true);
    expect(await until(() => cache.isCapped('p', 'later'))).toBe(true);
    expect(cache.isCapped('q', 'later')).toBe(false);

    // A recount clears the flag; the next reload drops it.
    await new SqliteMetadataStore(other).updateSchemaCap('p', 'later', [], false);
    expect(await until(() => !cache.isCapped('p', 'later'))).toBe(true);

    // This process's own write crossing the cap (2 paths) is known when persist returns.
    const keen = { id: 'e1', timestamp: '2024-01-01T00:00:00.000Z' };
    await persister.persist('p', [
      { collection: 'own', id: 'e1', timestamp: 0, event: { x: 1, y: 2, z: 3, keen } },
    ]);
    expect(cache.isCapped('p', 'own')).toBe(true);
    expect((await metadata.getSchema('p', 'own')).map((c) => c.path)).toEqual([
      'keen',
      'keen.id',
      'keen.timestamp',
      'x',
      'y',
    ]);
  });
});
