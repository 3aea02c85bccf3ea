import { MongoConnection } from './mongo-connection';
import { MongoDeadLetterStore } from './mongo-dead-letter.store';
import { startTestMongo, TestMongo } from './testing/test-mongo';
import { describeDeadLetterStoreContract } from '../testing/dead-letter-store.contract';

jest.setTimeout(120_000);

// One server for the file; a fresh database per test.
let server: TestMongo;
let db = 0;

beforeAll(async () => {
  server = await startTestMongo();
});
afterAll(async () => server?.stop());

describeDeadLetterStoreContract('mongo', async () => {
  const connection = new MongoConnection({
    url: server.url,
    database: `dead_letters_${process.pid}_${++db}`,
  });
  const store = new MongoDeadLetterStore({ connection });
  await store.init();
  return {
    store,
    close: async () => {
      await store.close();
      await connection.close();
    },
  };
});
