import { MongoConnection } from './mongo-connection';
import { startTestMongo, TestMongo } from './testing/test-mongo';
import { MongoDeleteJobStore } from './mongo-delete-job.store';
import { describeDeleteJobStoreContract } from '../testing/delete-job-store.contract';

jest.setTimeout(120_000);

// Each store has its own client, as two query processes do; a fresh database per test.
let server: TestMongo;
const connections: MongoConnection[] = [];
let db = 0;

beforeAll(async () => {
  server = await startTestMongo();
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});
afterAll(async () => server?.stop());

describeDeleteJobStoreContract('mongo', async () => {
  const database = `jobs_${process.pid}_${++db}`;
  const [first, second] = [0, 1].map(() => new MongoConnection({ url: server.url, database }));
  connections.push(first, second);
  const a = new MongoDeleteJobStore({ connection: first });
  const b = new MongoDeleteJobStore({ connection: second });
  await a.init();
  return { a, b };
});
