import { loadConfig } from '@app/config';
import { CollectionEvent } from '@app/events';
import { openStores } from '../open-stores';
import { recountSchema } from '@app/core';
import { CAP, describeSchemaCap } from '@app/core/testing';
import { mongoEventPersister } from './testing/mongo-persister';
import { MongoEventStore } from './mongo-event.store';
import { MongoMetadataStore } from './mongo-metadata.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

const config = (server: TestMongo, database: string) =>
  loadConfig('worker', {
    STORE: 'mongo',
    MONGO_URL: server.url,
    MONGO_DATABASE: database,
    ID_SECRET: 'schema-cap-scenario-secret-00000001',
    SCHEMA_MAX_PROPERTIES: String(CAP),
  });

/** The cap on the split wiring (worker persister, counters in MongoDB), reopened on a new connection. */
describeSchemaCap('mongo', async () => {
  const server = await startTestMongo();
  return { open: () => openStores(config(server, 'cap')), dispose: () => server.stop() };
});

describe('schema property cap: concurrent workers on MongoDB', () => {
  let server: TestMongo;
  beforeAll(async () => {
    server = await startTestMongo();
  });
  afterAll(async () => server?.stop());

  it('workers racing to admit new paths into one collection never admit past the cap, and counters equal a recount', async () => {
    const stores = await openStores(config(server, 'race'));
    try {
      const events = stores.events as MongoEventStore;
      const metadata = stores.metadata as MongoMetadataStore;
      // Five workers, each with a batch of events carrying its own new paths and one shared path.
      const batches: CollectionEvent[][] = Array.from({ length: 5 }, (_, w) =>
        Array.from({ length: 4 }, (_, i) => {
          const id = `race-${w}-${i}`;
          const timestamp = Date.UTC(2024, 4, 1) + w * 1000 + i;
          const keen = {
            id,
            timestamp: new Date(timestamp).toISOString(),
            created_at: new Date(timestamp).toISOString(),
          };
          return {
            collection: 'hot',
            id,
            timestamp,
            event: { shared: i, [`w${w}a`]: 1, [`w${w}b${i}`]: 'x', keen },
          };
        }),
      );
      await Promise.all(
        batches.map((batch) =>
          mongoEventPersister({ events, metadata, maxProperties: CAP }).persist('race', batch),
        ),
      );

      const cap = await metadata.getSchemaCap('race', 'hot');
      expect(cap.admittedCount).toBe(CAP);
      expect(cap.capped).toBe(true);
      expect(cap.admitted).toContain('shared');
      const counters = await metadata.getSchema('race', 'hot');
      // Only admitted paths have counters, each with the exact number of events carrying it.
      const all = batches.flat();
      for (const c of counters.filter((c) => !c.path.startsWith('keen'))) {
        expect(cap.admitted).toContain(c.path);
        expect(c.count).toBe(all.filter((e) => c.path in e.event).length);
      }
      expect(
        new Set(counters.filter((c) => !c.path.startsWith('keen')).map((c) => c.path)),
      ).toEqual(new Set(cap.admitted));
      expect(counters.find((c) => c.path === 'keen.id')?.count).toBe(20);
      expect(await events.countCollection('race', 'hot')).toBe(20);
      expect(await recountSchema(stores, 'race', 'hot', 1000)).toEqual({
        events: 20,
        corrected: 0,
      });
    } finally {
      await stores.close();
    }
  });
});
