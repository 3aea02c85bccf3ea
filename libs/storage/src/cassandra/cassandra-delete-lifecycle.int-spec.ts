import { startTestMongo } from '../mongo/testing/test-mongo';
import { describeDeleteLifecycle, openLifecycleStores } from '@app/core/testing';
import { startTestCassandra, testKeyspace } from './testing/test-cassandra';

/** The delete lifecycle on the split wiring with STORE=cassandra: events in Cassandra, counters in MongoDB. */
describeDeleteLifecycle('cassandra', async () => {
  const [cassandra, mongo] = await Promise.all([startTestCassandra(), startTestMongo()]);
  const env = {
    STORE: 'cassandra',
    CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
    CASSANDRA_KEYSPACE: testKeyspace('lifecycle'),
    MONGO_URL: mongo.url,
    MONGO_DATABASE: 'lifecycle',
    ID_SECRET: 'delete-lifecycle-contract-secret-0001',
  };
  return openLifecycleStores(env, async () => {
    await Promise.all([mongo.stop(), cassandra.stop()]);
  });
});
