import { loadConfig } from '@app/config';
import { openStores } from '../open-stores';
import { startTestMongo } from '../mongo/testing/test-mongo';
import { describeDeleteLifecycle } from '../testing/delete-lifecycle.contract';
import { startTestCassandra, testKeyspace } from './testing/test-cassandra';

/** The delete lifecycle on the split wiring with STORE=cassandra: events in Cassandra, counters in MongoDB. */
describeDeleteLifecycle('cassandra', async () => {
  const [cassandra, mongo] = await Promise.all([startTestCassandra(), startTestMongo()]);
  const stores = await openStores(
    loadConfig('query', {
      STORE: 'cassandra',
      CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
      CASSANDRA_KEYSPACE: testKeyspace('lifecycle'),
      MONGO_URL: mongo.url,
      MONGO_DATABASE: 'lifecycle',
      ID_SECRET: 'lifecycle',
    }),
  );
  return {
    stores,
    close: async () => {
      await stores.close();
      await Promise.all([mongo.stop(), cassandra.stop()]);
    },
  };
});
