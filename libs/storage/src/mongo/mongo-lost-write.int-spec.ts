/**
 * A store that acknowledges an insert it does not keep. The MongoDB-wire test
 * server did this under concurrent batches after client-side timeouts (an
 * insertMany answered with insertedCount = n, none of the n documents readable
 * right after); real MongoDB can lose w:1 writes across a failover. The
 * persister reads back what it inserted before counting or acknowledging, so
 * the loss becomes a retry instead of a silently missing event.
 *
 * The fault is injected by removing, behind the persister's back, part of what
 * the real server just stored — the server itself is real.
 */
import { CollectionEvent, TallyError } from '@app/events';
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

  it('refuses to acknowledge, and the retry stores every event with counters equal to a recount', async () => {
    connection = new MongoConnection({ url: server.url, database: `lost${Date.now()}` });
    const events = new MongoEventStore({ connection });
    const metadata = new MongoMetadataStore({ connection });
    await events.init();
    await metadata.init();
    const persister = mongoEventPersister({ events, metadata });
    const batch = batchOf(40);
    const dropped = batch.filter((_, i) => i % 3 === 0).map((e) => e.id);

    const insertMarked = events.insertMarked.bind(events);
    let losses = 1;
    events.insertMarked = async (projectId, toInsert, marker) => {
      const outcome = await insertMarked(projectId, toInsert, marker);
      if (losses-- > 0) {
        const raw = (await connection.db()).collection<{ _id: string }>('events');
        await raw.deleteMany({ _id: { $in: dropped } });
      }
      return outcome;
    };

    const first = await persister.persist('p', batch).then(
      () => null,
      (error: unknown) => error,
    );
    expect(first).toBeInstanceOf(TallyError);
    expect(first).toMatchObject({ kind: 'unavailable', errorCode: 'StoreLostWriteError' });

    const retry = await persister.persist('p', batch);
    expect(retry.inserted + retry.duplicates).toBe(batch.length);
    expect(retry.inserted).toBe(dropped.length);

    const stored: { id: string; event: unknown }[] = [];
    for await (const page of events.scan({ projectId: 'p', collection: 'c' })) stored.push(...page);
    expect(stored.map((e) => e.id).sort()).toEqual(batch.map((e) => e.id).sort());
    expect(stored.sort((a, b) => a.id.localeCompare(b.id)).map((e) => e.event)).toEqual(
      [...batch].sort((a, b) => a.id.localeCompare(b.id)).map((e) => e.event),
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
    expect(
      (
        await events.markersOf(
          'p',
          batch.map((e) => e.id),
        )
      ).size,
    ).toBe(0);
  });
});
