import { describeDeleteLifecycle, openLifecycleStores } from '@app/core/testing';
import { startTestMongo } from './testing/test-mongo';

/** The delete lifecycle on the split wiring with STORE=mongo, against the project's MongoDB-wire server. */
describeDeleteLifecycle('mongo', async () => {
  const server = await startTestMongo();
  const env = {
    STORE: 'mongo',
    MONGO_URL: server.url,
    MONGO_DATABASE: 'lifecycle',
    ID_SECRET: 'delete-lifecycle-contract-secret-0001',
  };
  return openLifecycleStores(env, () => server.stop());
});
