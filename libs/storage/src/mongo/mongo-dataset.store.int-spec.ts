import { MongoConnection } from './mongo-connection';
import { MongoDatasetStore } from './mongo-dataset.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';
import { describeDatasetStoreContract } from '../testing/dataset-store.contract';

jest.setTimeout(120_000);

// One server for the file; a fresh database per test, reached through two connections.
let server: TestMongo;
let db = 0;

beforeAll(async () => {
  server = await startTestMongo();
});
afterAll(async () => server?.stop());

describeDatasetStoreContract('mongo', async () => {
  const database = `datasets_${process.pid}_${++db}`;
  const connection = new MongoConnection({ url: server.url, database });
  const otherConnection = new MongoConnection({ url: server.url, database });
  const store = new MongoDatasetStore({ connection });
  const other = new MongoDatasetStore({ connection: otherConnection });
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
