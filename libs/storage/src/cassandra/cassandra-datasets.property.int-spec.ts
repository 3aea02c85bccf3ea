import { loadConfig } from '@app/config';
import { describeDatasetProperty } from '@app/core/testing';
import { startTestMongo } from '../mongo/testing/test-mongo';
import { openStores } from '../open-stores';
import { startTestCassandra, testKeyspace } from './testing/test-cassandra';

jest.setTimeout(600_000);

/** Datasets with events in Cassandra and the change log and buckets in MongoDB, as openStores composes them. */
describeDatasetProperty(
  'cassandra',
  async () => {
    const [cassandra, mongo] = await Promise.all([startTestCassandra(), startTestMongo()]);
    return {
      open: () =>
        openStores(
          loadConfig('worker', {
            STORE: 'cassandra',
            CASSANDRA_CONTACT_POINTS: cassandra.contactPoints.join(','),
            CASSANDRA_KEYSPACE: testKeyspace('dprop'),
            MONGO_URL: mongo.url,
            MONGO_DATABASE: 'datasets_property',
            ID_SECRET: 'datasets-property-secret-0000000001',
          }),
        ),
      dispose: async () => {
        await Promise.all([mongo.stop(), cassandra.stop()]);
      },
    };
  },
  Number(process.env.FC_RUNS ?? 6),
);
