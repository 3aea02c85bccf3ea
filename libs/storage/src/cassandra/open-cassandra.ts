import { TallyConfig } from '@app/config';
import { requireIdSecret, Stores } from '../open-stores';
import { mongoMetadataSide } from '../mongo/open-mongo';
import { MongoCounterLedger } from '../mongo/mongo-counter.ledger';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';

/** Events in Cassandra; projects, keys, counters and dead letters stay in MongoDB. */
export async function openCassandraStores(config: TallyConfig): Promise<Stores> {
  const idSecret = requireIdSecret(config);
  const { connection, metadata, deadLetters, deleteJobs } = mongoMetadataSide(config);
  const events = new CassandraEventStore({
    contactPoints: config.storage.cassandraContactPoints,
    keyspace: config.storage.cassandraKeyspace,
    localDataCenter: 'datacenter1',
  });
  await Promise.all([events.init(), metadata.init(), deadLetters.init(), deleteJobs.init()]);
  return {
    events,
    metadata,
    deleteJobs,
    unitOfWork: { run: (work) => work() },
    // Exact counters under redelivery, keyed by the by-id claim token
    // (docs/cassandra.md); the counters are MongoDB's.
    writes: {
      kind: 'marked',
      writer: new CassandraMarkedEventWriter(events),
      ledger: new MongoCounterLedger(metadata),
    },
    deadLetters,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: async () => {
      await events.close();
      await connection.close();
    },
  };
}
