import { MongoConnection } from './mongo-connection';
import { MongoMetadataStore } from './mongo-metadata.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';
import { describeMetadataStoreContract } from '../testing/metadata-store.contract';

jest.setTimeout(120_000);

// One server for the file; a fresh database per test.
let server: TestMongo;
let db = 0;

beforeAll(async () => {
  server = await startTestMongo();
});
afterAll(async () => server?.stop());

describeMetadataStoreContract('mongo', async () => {
  const connection = new MongoConnection({
    url: server.url,
    database: `metadata_${process.pid}_${++db}`,
  });
  const store = new MongoMetadataStore({ connection });
  await store.init();
  return {
    store,
    close: async () => {
      await store.close();
      await connection.close();
    },
  };
});
