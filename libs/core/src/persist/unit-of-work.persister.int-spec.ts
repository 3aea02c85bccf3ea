import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CollectionEvent, EventBatch } from '@app/events';
import { MetadataStore } from '@app/storage';
import {
  SqliteDatabase,
  SqliteEventStore,
  SqliteMetadataStore,
  SqliteUnitOfWork,
} from '@app/storage/sqlite';
import { byKey, countersOf } from '../testing/event-persister.contract';
import { UnitOfWorkEventPersister } from './unit-of-work.persister';

const T0 = Date.UTC(2024, 4, 1);

function ev(id: string, collection: string, i: number): CollectionEvent {
  const event = {
    n: i,
    price: i % 3 === 0 ? String(i) : i * 1.5,
    ...(i % 2 ? { user: { id: `u${i}`, tags: ['a'] } } : { flag: null }),
    keen: { id, timestamp: new Date(T0 + i * 1000).toISOString() },
  };
  return { id, collection, timestamp: T0 + i * 1000, event };
}

/**
 * A group of queued batches (what the writer thread commits at once) on real
 * SQLite: each project's batches are written as one, so the schema-cap read
 * and the counter upserts run once per collection of the group, not once per
 * single-event batch, and what is stored is what sequential writes stored.
 */
describe('UnitOfWorkEventPersister.persistAll on SQLite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-uow-group-'));
  const db = new SqliteDatabase(path.join(dir, 'tally.db'));
  const metadata = new SqliteMetadataStore(db);
  const events = new SqliteEventStore(db);
  const calls = { capReads: 0, upserts: 0 };
  // The real store, counted: how often the per-collection work runs.
  const counted: MetadataStore = Object.assign(Object.create(metadata) as MetadataStore, {
    getSchemaCap: (...args: Parameters<MetadataStore['getSchemaCap']>) => {
      calls.capReads++;
      return metadata.getSchemaCap(...args);
    },
    applySchemaDeltas: (...args: Parameters<MetadataStore['applySchemaDeltas']>) => {
      calls.upserts++;
      return metadata.applySchemaDeltas(...args);
    },
  });
  const persister = new UnitOfWorkEventPersister(events, counted, new SqliteUnitOfWork(db));

  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (projectId: string, collection: string) => {
    const out: { id: string; event: unknown }[] = [];
    for await (const page of events.scan({ projectId, collection })) {
      for (const e of page) out.push({ id: e.id, event: e.event });
    }
    return out;
  };

  it('stores every event of interleaved single-event batches once, with exact counters, reading the cap once per collection', async () => {
    const sent: Record<string, CollectionEvent[]> = { a: [], b: [] };
    const batches: EventBatch[] = [];
    for (let i = 0; i < 40; i++) {
      const projectId = i % 4 === 3 ? 'b' : 'a';
      const e = ev(`${projectId}-${i}`, i % 5 === 0 ? 'views' : 'clicks', i);
      sent[projectId].push(e);
      batches.push({ batchId: `r${i}`, projectId, events: [e] });
    }
    // A client retried two requests inside the same group: stored once each.
    batches.push({ batchId: 'r3-again', projectId: 'b', events: [sent.b[0]] });
    batches.push({ batchId: 'r0-again', projectId: 'a', events: [sent.a[0]] });
    // An event id known to project a is a new event in project b.
    const crossTenant = { ...sent.a[1], event: { ...sent.a[1].event, other: true } };
    batches.push({ batchId: 'b-same-id', projectId: 'b', events: [crossTenant] });
    sent.b.push(crossTenant);

    expect(await persister.persistAll(batches)).toEqual({ inserted: 41, duplicates: 2 });
    // Two projects, two collections each: four cap reads, not one per batch.
    expect(calls).toEqual({ capReads: 4, upserts: 4 });

    for (const projectId of ['a', 'b']) {
      for (const collection of ['clicks', 'views']) {
        const want = sent[projectId]
          .filter((e) => e.collection === collection)
          .map((e) => ({ id: e.id, event: e.event }));
        const got = await stored(projectId, collection);
        expect(got.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
          want.sort((x, y) => x.id.localeCompare(y.id)),
        );
      }
      expect((await metadata.getSchema(projectId)).sort(byKey)).toEqual(
        countersOf(sent[projectId]),
      );
    }
  });

  it('caps each collection at its property limit across the group, as batch by batch did', async () => {
    // Six new top-level properties, one per batch, against a cap of 5 paths.
    const batches: EventBatch[] = Array.from({ length: 6 }, (_, i) => ({
      batchId: `c${i}`,
      projectId: 'capped',
      events: [
        {
          id: `c-${i}`,
          collection: 'wide',
          timestamp: T0 + i,
          event: {
            [`p${i}`]: i,
            keen: { id: `c-${i}`, timestamp: new Date(T0 + i).toISOString() },
          },
        },
      ],
    }));
    const narrow = new UnitOfWorkEventPersister(events, metadata, new SqliteUnitOfWork(db), 5);
    expect(await narrow.persistAll(batches)).toEqual({ inserted: 6, duplicates: 0 });
    const cap = await metadata.getSchemaCap('capped', 'wide', []);
    expect(cap.capped).toBe(true);
    expect(cap.admittedCount).toBe(5);
    expect((await stored('capped', 'wide')).map((e) => e.id).sort()).toEqual(
      batches.map((b) => b.events[0].id).sort(),
    );
  });
});
