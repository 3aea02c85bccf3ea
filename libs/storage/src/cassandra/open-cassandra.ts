import { TallyConfig } from '@app/config';
import { Stores } from '../open-stores';
import { mongoMetadataSide } from '../mongo/open-mongo';
import { MongoCounterLedger } from '../mongo/mongo-counter.ledger';
import { CassandraStoreOptions } from './cassandra-client';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';

/** The event store's options as every process builds them from its config. */
export function cassandraEventStoreOptions(config: TallyConfig): CassandraStoreOptions {
  return {
    contactPoints: config.storage.cassandraContactPoints,
    keyspace: config.storage.cassandraKeyspace,
    localDataCenter: 'datacenter1',
    scanConcurrency: config.storage.cassandraScanConcurrency,
    pageSize: config.storage.cassandraPageSize,
  };
}

/** Events in Cassandra; projects, keys, counters and dead letters stay in MongoDB. */
export async function openCassandraStores(config: TallyConfig): Promise<Stores> {
  const side = mongoMetadataSide(config);
  const events = new CassandraEventStore(cassandraEventStoreOptions(config));
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
