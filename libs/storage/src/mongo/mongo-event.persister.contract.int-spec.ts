import { describeEventPersisterContract } from '@app/core/testing';
import { MongoConnection } from './mongo-connection';
import { MongoCounterLedger } from './mongo-counter.ledger';
import { MongoEventStore } from './mongo-event.store';
import { MongoMarkedEventWriter } from './mongo-marked-event.writer';
import { MongoMetadataStore } from './mongo-metadata.store';
import { startTestMongo } from './testing/test-mongo';

jest.setTimeout(120_000);

/** The marker protocol with events and counters on the MongoDB-wire test server. */
describeEventPersisterContract('mongo', async () => {
  const server = await startTestMongo();
  const connection = new MongoConnection({ url: server.url, database: 'persister_contract' });
  const events = new MongoEventStore({ connection });
  const metadata = new MongoMetadataStore({ connection });
  await Promise.all([events.init(), metadata.init()]);
  return {
    writer: new MongoMarkedEventWriter(events),
    ledger: new MongoCounterLedger(metadata),
    events,
    counters: (projectId) => metadata.getSchema(projectId),
    metadata,
    close: async () => {
      await connection.close();
      await server.stop();
    },
  };
});
