import { loadConfig } from '@app/config';
import { openStores } from '../open-stores';
import { describeDeleteLifecycle } from '../testing/delete-lifecycle.contract';
import { startTestMongo } from './testing/test-mongo';

/** The delete lifecycle on the split wiring with STORE=mongo, against the project's MongoDB-wire server. */
describeDeleteLifecycle('mongo', async () => {
  const server = await startTestMongo();
  const stores = await openStores(
    loadConfig('query', {
      STORE: 'mongo',
      MONGO_URL: server.url,
      MONGO_DATABASE: 'lifecycle',
      ID_SECRET: 'lifecycle',
    }),
  );
  return {
    stores,
    close: async () => {
      await stores.close();
      await server.stop();
    },
  };
});
