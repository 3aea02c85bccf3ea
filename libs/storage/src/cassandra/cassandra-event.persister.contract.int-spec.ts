import { MongoConnection } from '../mongo/mongo-connection';
import { MongoCounterLedger } from '../mongo/mongo-counter.ledger';
import { MongoMetadataStore } from '../mongo/mongo-metadata.store';
import { startTestMongo } from '../mongo/testing/test-mongo';
import { describeEventPersisterContract } from '@app/core/testing';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';
import { startTestCassandra, testKeyspace } from './testing/test-cassandra';

jest.setTimeout(240_000);

/** The marker protocol with events in Cassandra and counters in MongoDB, as openStores composes them. */
describeEventPersisterContract('cassandra', async () => {
  const [cassandra, mongo] = await Promise.all([startTestCassandra(), startTestMongo()]);
  const connection = new MongoConnection({ url: mongo.url, database: 'persister_contract' });
  const metadata = new MongoMetadataStore({ connection });
  const events = new CassandraEventStore({
    contactPoints: cassandra.contactPoints,
    keyspace: testKeyspace('pcontract'),
  });
  await Promise.all([events.init(), metadata.init()]);
  return {
    writer: new CassandraMarkedEventWriter(events),
    ledger: new MongoCounterLedger(metadata),
    events,
    counters: (projectId) => metadata.getSchema(projectId),
    metadata,
    close: async () => {
      await events.close();
      await connection.close();
      await Promise.all([mongo.stop(), cassandra.stop()]);
    },
  };
});
