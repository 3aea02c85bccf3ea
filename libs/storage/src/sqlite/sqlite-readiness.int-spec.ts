import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EventStore } from '../ports/event-store.port';
import { MetadataStore } from '../ports/metadata-store.port';
import { notReadyReason } from '../ports/readiness.port';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';
import { SqliteMetadataStore } from './sqlite-metadata.store';

describe('SQLite readiness probes', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-sqlite-ready-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const events: EventStore = new SqliteEventStore(db);
  const metadata: MetadataStore = new SqliteMetadataStore(db);
  const checks = [
    { name: 'store', probe: events },
    { name: 'metadata store', probe: metadata },
  ];

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('answers on an empty and on a written database', async () => {
    await expect(events.ping(1000)).resolves.toBeUndefined();
    await expect(metadata.ping(1000)).resolves.toBeUndefined();
    await events.insert('p', [
      { id: 'a', collection: 'c', timestamp: 1, event: { keen: { id: 'a' } } },
    ]);
    expect(await notReadyReason(checks, 1000)).toBeNull();
  });

  it('reports a closed database as not ready, naming each store', async () => {
    db.close();
    await expect(events.ping(1000)).rejects.toThrow('The database connection is not open');
    expect(await notReadyReason(checks, 1000)).toBe(
      'Not ready: store: The database connection is not open; ' +
        'metadata store: The database connection is not open',
    );
  });
});
