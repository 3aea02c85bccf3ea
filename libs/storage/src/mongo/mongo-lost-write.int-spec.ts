/**
 * An insert whose outcome is unknown. The mongodb driver wraps every failure
 * of a bulk write in MongoBulkWriteError, a socket timeout too, with no
 * per-document errors: the server may not have run it, or may run it later.
 * Read as "nothing failed", it reported unstored events as written (acknowledged
 * events lost) and an earlier delivery's duplicates as new (counted twice);
 * docs/known-issues.md. The server is real; the fault is a paused process.
 */
import { CollectionEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { MongoConnection } from './mongo-connection';
import { MongoEventStore } from './mongo-event.store';
import { MongoMetadataStore } from './mongo-metadata.store';
import { mongoEventPersister } from './testing/mongo-persister';
import { startTestMongo, TestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

const T0 = Date.UTC(2024, 2, 10, 7, 0, 0);

function batchOf(n: number): CollectionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `lost-${process.pid}-${i}`;
    const timestamp = T0 + i * 1000;
    const event = {
      n: i,
      user: { tier: i % 2 ? 'gold' : 'free' },
      keen: { id, timestamp: new Date(timestamp).toISOString() },
    };
    return { id, collection: 'c', timestamp, event: event as CollectionEvent['event'] };
  });
}

describe('MongoEventPersister when the store loses an acknowledged insert', () => {
  let server: TestMongo;
  let connection: MongoConnection;

  beforeAll(async () => {
    server = await startTestMongo();
  });
  afterAll(async () => server?.stop());
  afterEach(async () => connection?.close());

  it('an insert that fails in the driver (socket timeout, wrapped as a bulk write error) is an error, never "all written"', async () => {
    // The driver wraps the timeout in MongoBulkWriteError with no writeErrors;
    // read as a partial success it reported 40 unstored events as inserted.
    connection = new MongoConnection({
      url: server.url,
      database: `timeout${Date.now()}`,
      socketTimeoutMs: 300,
    });
    const events = new MongoEventStore({ connection });
    const metadata = new MongoMetadataStore({ connection });
    await events.init();
    await metadata.init();
    // Another delivery takes over a dead one's marker at once here.
    const persister = mongoEventPersister({ events, metadata, takeoverAfterMs: 0 });
    const batch = batchOf(40).map((e) => ({ ...e, id: `to-${e.id}` }));
    // An earlier delivery stored and counted the first 10.
    expect(await persister.persist('p', batch.slice(0, 10))).toEqual({
      inserted: 10,
      duplicates: 0,
    });

    // A delivery of all 40, its marker registered as the persister does, whose
    // insert times out while the server is paused.
    await metadata.registerMarker('p', ['c'], 'late');
    server.pause();
    const attempt = events.insertMarked('p', batch, 'late').then(
      (outcome) => ({ outcome }),
      (error: unknown) => ({ error }),
    );
    const settled = await attempt.finally(() => server.resume());
    expect(settled).not.toHaveProperty('outcome');
    expect((settled as { error: Error }).error.name).toMatch(/Mongo/);

    // The retry finds what the server ran after all as duplicates carrying the
    // dead marker, and settles it: every event stored as sent, counted once.
    const retry = await persister.persist('p', batch);
    expect(retry.inserted + retry.duplicates).toBe(batch.length);
    expect(retry.duplicates).toBeGreaterThanOrEqual(10);
    const stored: { id: string; event: unknown }[] = [];
    for await (const page of events.scan({ projectId: 'p', collection: 'c' })) stored.push(...page);
    expect(stored.sort((a, b) => a.id.localeCompare(b.id)).map((e) => [e.id, e.event])).toEqual(
      [...batch].sort((a, b) => a.id.localeCompare(b.id)).map((e) => [e.id, e.event]),
    );
    const expected = schemaDeltas(batch)
      .map((d) => ({ path: d.path, type: d.type, count: d.delta }))
      .sort((a, b) => a.path.localeCompare(b.path) || a.type.localeCompare(b.type));
    const counters = (await metadata.getSchema('p', 'c'))
      .map((c) => ({ path: c.path, type: c.type, count: c.count }))
      .sort((a, b) => a.path.localeCompare(b.path) || a.type.localeCompare(b.type));
    expect(counters).toEqual(expected);
    const counterDoc = await (
      await connection.db()
    )
      .collection<{ _id: string; pending?: unknown[] }>('schema_counters')
      .findOne({ _id: JSON.stringify(['p', 'c']) });
    expect(counterDoc?.pending ?? []).toEqual([]);
    // Every event keeps the marker of the attempt that inserted it: the paused one's,
    // which the retry settled, for all of them.
    const carried = await events.markersOf(
      'p',
      batch.map((e) => e.id),
    );
    expect([...carried.values()].flat().sort()).toEqual(batch.map((e) => e.id).sort());
  });
});
