import { MongoConnection } from './mongo-connection';
import { MongoSavedQueryStore } from './mongo-saved-query.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';
import { describeSavedQueryStoreContract } from '../testing/saved-query-store.contract';

jest.setTimeout(120_000);

// One server for the file; a fresh database per test, reached through two connections.
let server: TestMongo;
let db = 0;

beforeAll(async () => {
  server = await startTestMongo();
});
afterAll(async () => server?.stop());

describeSavedQueryStoreContract('mongo', async () => {
  const database = `saved_queries_${process.pid}_${++db}`;
  const connection = new MongoConnection({ url: server.url, database });
  const otherConnection = new MongoConnection({ url: server.url, database });
  const store = new MongoSavedQueryStore({ connection });
  const other = new MongoSavedQueryStore({ connection: otherConnection });
  await store.init();
  await other.init();
  return {
    store,
    other,
    close: async () => {
      await connection.close();
      await otherConnection.close();
    },
  };
});
