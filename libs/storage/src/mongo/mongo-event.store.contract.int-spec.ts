import { describeEventStoreContract } from '../testing/event-store.contract';
import { MongoConnection } from './mongo-connection';
import { MongoEventStore } from './mongo-event.store';
import { startTestMongo } from './testing/test-mongo';

/** The shared EventStore contract on the MongoDB-wire server the project's scripts start. */
describeEventStoreContract('mongo', async () => {
  const server = await startTestMongo();
  const connection = new MongoConnection({ url: server.url, database: 'contract' });
  const store = new MongoEventStore({ connection });
  await store.init();
  return {
    store,
    close: async () => {
      await connection.close();
      await server.stop();
    },
  };
});
