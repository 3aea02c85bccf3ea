import { TallyConfig } from '@app/config';
import { Stores } from '../open-stores';
import { mongoMetadataSide } from '../mongo/open-mongo';
import { MongoCounterLedger } from '../mongo/mongo-counter.ledger';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';

/** Events in Cassandra; projects, keys, counters and dead letters stay in MongoDB. */
export async function openCassandraStores(config: TallyConfig): Promise<Stores> {
  const side = mongoMetadataSide(config);
  const events = new CassandraEventStore({
    contactPoints: config.storage.cassandraContactPoints,
    keyspace: config.storage.cassandraKeyspace,
    localDataCenter: 'datacenter1',
  });
  await Promise.all([events.init(), side.init()]);
  return {
    ...side.stores,
    events,
    unitOfWork: { run: (work) => work() },
    // Exact counters under redelivery, keyed by the by-id claim token
    // (docs/cassandra.md); the counters are MongoDB's.
    writes: {
      kind: 'marked',
      writer: new CassandraMarkedEventWriter(events),
      ledger: new MongoCounterLedger(side.metadata),
    },
    close: async () => {
      await events.close();
      await side.stores.close();
    },
  };
}
