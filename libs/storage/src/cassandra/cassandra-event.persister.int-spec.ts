import { CollectionEvent } from '@app/events';
import { schemaDeltas } from '@app/schema';
import { MongoConnection } from '../mongo/mongo-connection';
import { MongoMetadataStore } from '../mongo/mongo-metadata.store';
import { MongoCounterLedger } from '../mongo/mongo-counter.ledger';
import { startTestMongo, TestMongo } from '../mongo/testing/test-mongo';
import { MarkedEventPersister } from '@app/core';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';
import { CassandraEventStore } from './cassandra-event.store';
import { startTestCassandra, TestCassandra, testKeyspace } from './testing/test-cassandra';

jest.setTimeout(240_000);

const T0 = Date.UTC(2024, 5, 1);
function batch(tag: string, n: number): CollectionEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${tag}-${i}`;
    const timestamp = T0 + i * 3_600_000;
    return {
      collection: i % 3 === 0 ? 'views' : 'clicks',
      id,
      timestamp,
      event: {
        n: i,
        ...(i % 2 ? { tag: 'odd' } : { deep: { flag: true } }),
        keen: { id, timestamp: new Date(timestamp).toISOString() },
      },
    };
  });
}

const expected = (events: CollectionEvent[]) =>
  schemaDeltas(events)
    .map((d) => ({ collection: d.collection, path: d.path, type: d.type, count: d.delta }))
    .sort(
      (a, b) =>
        a.collection.localeCompare(b.collection) ||
        a.path.localeCompare(b.path) ||
        a.type.localeCompare(b.type),
    );

describe('the marker persister on Cassandra: events in Cassandra, counters in MongoDB', () => {
  let cassandra: TestCassandra;
  let mongo: TestMongo;
  let connection: MongoConnection;
  let metadata: MongoMetadataStore;
  let store: CassandraEventStore;

  beforeAll(async () => {
    [cassandra, mongo] = await Promise.all([startTestCassandra(), startTestMongo()]);
    connection = new MongoConnection({ url: mongo.url, database: 'tally_persister' });
    metadata = new MongoMetadataStore({ connection });
    await metadata.init();
    store = new CassandraEventStore({
      contactPoints: cassandra.contactPoints,
      keyspace: testKeyspace('persister'),
    });
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await connection?.close();
    await mongo?.stop();
    await cassandra?.stop();
  });

  const counters = async (project: string) =>
    (await metadata.getSchema(project)).sort(
      (a, b) =>
        a.collection.localeCompare(b.collection) ||
        a.path.localeCompare(b.path) ||
        a.type.localeCompare(b.type),
    );

  it('counts every event once when a worker dies between the insert and the counter update', async () => {
    const project = `p-crash-${Date.now()}`;
    const events = batch('crash', 12);
    // The first delivery stores the events, then its counter update fails (worker killed / Mongo timeout).
    const dying = new MarkedEventPersister({
      writer: new CassandraMarkedEventWriter(store),
      ledger: new MongoCounterLedger(
        Object.assign(Object.create(metadata), {
          applyMarked: async () => {
            throw new Error('worker killed');
          },
        }),
      ),
    });
    await expect(dying.persist(project, events)).rejects.toThrow('worker killed');
    expect(await counters(project)).toEqual([]);
    expect(await store.countCollection(project, 'clicks')).toBe(8);

    // The redelivery, in another process, finds every event a duplicate and settles the dead delivery's marker.
    const next = new MarkedEventPersister({
      writer: new CassandraMarkedEventWriter(store),
      ledger: new MongoCounterLedger(metadata),
      takeoverAfterMs: 0,
    });
    expect(await next.persist(project, events)).toEqual({ inserted: 0, duplicates: 12 });
    expect(await counters(project)).toEqual(expected(events));
    // Redelivered again, and with new events mixed in: nothing counted twice.
    const more = batch('more', 4);
    expect(await next.persist(project, [...events, ...more])).toEqual({
      inserted: 4,
      duplicates: 12,
    });
    expect(await counters(project)).toEqual(expected([...events, ...more]));
  });

  it('waits (CountersPendingError) while the earlier delivery may still be running', async () => {
    const project = `p-live-${Date.now()}`;
    const events = batch('live', 5);
    const dying = new MarkedEventPersister({
      writer: new CassandraMarkedEventWriter(store),
      ledger: new MongoCounterLedger(
        Object.assign(Object.create(metadata), {
          applyMarked: async () => {
            throw new Error('slow');
          },
        }),
      ),
    });
    await expect(dying.persist(project, events)).rejects.toThrow('slow');
    const other = new MarkedEventPersister({
      writer: new CassandraMarkedEventWriter(store),
      ledger: new MongoCounterLedger(metadata),
      takeoverAfterMs: 60_000,
    });
    await expect(other.persist(project, events)).rejects.toMatchObject({
      errorCode: 'CountersPendingError',
    });
    expect(await counters(project)).toEqual([]);
  });
});
