import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent } from '@app/events';
import { parseEventSelection } from '@app/query-engine';
import { schemaDeltas } from '@app/schema';
import { EventDeleter } from '@app/core';
import { SqliteDatabase } from './sqlite-database';
import { SqliteEventStore } from './sqlite-event.store';
import { SqliteMetadataStore, SqliteUnitOfWork } from './sqlite-metadata.store';

/**
 * The incident this design answers: deletes by keen.id on a multi-million-event
 * collection must be point operations, and filtered deletes must read only
 * their timeframe. Shown by what the delete scanned, on 1,000,000 events.
 */
describe('deletes at scale (SQLite, 1,000,000 events)', () => {
  const TOTAL = Number(process.env.DELETE_SCALE_EVENTS || 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-delete-scale-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const events = new SqliteEventStore(db);
  const metadata = new SqliteMetadataStore(db);
  const deleter = new EventDeleter(events, metadata, new SqliteUnitOfWork(db), {
    kind: 'transactional',
  });
  const T0 = Date.UTC(2024, 0, 1);
  const MINUTE = 60_000;
  const idOf = (i: number) => i.toString(16).padStart(24, '0');

  beforeAll(async () => {
    for (let i = 0; i < TOTAL; i += 20_000) {
      const chunk: CollectionEvent[] = Array.from(
        { length: Math.min(20_000, TOTAL - i) },
        (_, k) => {
          const n = i + k;
          const id = idOf(n);
          const timestamp = T0 + n * MINUTE;
          return {
            collection: 'big',
            id,
            timestamp,
            event: {
              n,
              even: n % 2 === 0,
              keen: { id, timestamp: new Date(timestamp).toISOString() },
            },
          };
        },
      );
      await events.insert('p', chunk);
      await metadata.applySchemaDeltas('p', schemaDeltas(chunk));
    }
  }, 300_000);

  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('deletes by keen.id reading only those ids', async () => {
    const ids = [idOf(17), idOf(TOTAL - 1), idOf(500_000), 'ffffffffffffffffffffffff'];
    const done = await deleter.delete(
      'p',
      'big',
      parseEventSelection({
        filters: JSON.stringify([
          { property_name: 'keen.id', operator: 'in', property_value: ids },
        ]),
      }),
    );
    expect(done).toEqual({ scanned: 3, deleted: 3 });
    expect(await events.countCollection('p', 'big')).toBe(TOTAL - 3);
    const counters = await metadata.getSchema('p', 'big');
    expect(counters.find((c) => c.path === 'n')?.count).toBe(TOTAL - 3);
  });

  it('a filtered delete reads only its timeframe', async () => {
    // One day: 1,440 one-minute events, of which half are even.
    const done = await deleter.delete(
      'p',
      'big',
      parseEventSelection({
        timeframe: JSON.stringify({
          start: '2024-01-03T00:00:00.000Z',
          end: '2024-01-04T00:00:00.000Z',
        }),
        filters: JSON.stringify([{ property_name: 'even', operator: 'eq', property_value: true }]),
      }),
    );
    expect(done).toEqual({ scanned: 1440, deleted: 720 });
    const counters = await metadata.getSchema('p', 'big');
    expect(counters.find((c) => c.path === 'even' && c.type === 'bool')?.count).toBe(
      TOTAL - 3 - 720,
    );
  });
});
