import { TallyConfig } from '@app/config';
import { MetadataStores, requireIdSecret, Stores } from '../open-stores';
import { MongoConnection } from './mongo-connection';
import { MongoCounterLedger } from './mongo-counter.ledger';
import { MongoDeadLetterStore } from './mongo-dead-letter.store';
import { MongoDeleteJobStore } from './mongo-delete-job.store';
import { MongoEventStore } from './mongo-event.store';
import { MongoMarkedEventWriter } from './mongo-marked-event.writer';
import { MongoMetadataStore } from './mongo-metadata.store';

/**
 * The MongoDB side both split stores share: one connection for projects, keys,
 * counters, dead letters and delete jobs (events go to MongoDB or Cassandra).
 */
export function mongoMetadataSide(config: TallyConfig) {
  const connection = new MongoConnection({
    url: config.storage.mongoUrl,
    database: config.storage.mongoDatabase,
    connectTimeoutMs: config.storage.mongoConnectTimeoutMs,
  });
  const metadata = new MongoMetadataStore({ connection });
  const deadLetters = new MongoDeadLetterStore({ connection });
  const deleteJobs = new MongoDeleteJobStore({ connection });
  return { connection, metadata, deadLetters, deleteJobs };
}

export async function openMongoMetadataStores(config: TallyConfig): Promise<MetadataStores> {
  const idSecret = requireIdSecret(config);
  const { connection, metadata, deadLetters, deleteJobs } = mongoMetadataSide(config);
  await Promise.all([metadata.init(), deadLetters.init(), deleteJobs.init()]);
  return {
    metadata,
    deadLetters,
    deleteJobs,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: () => connection.close(),
  };
}

export async function openMongoStores(config: TallyConfig): Promise<Stores> {
  const idSecret = requireIdSecret(config);
  const { connection, metadata, deadLetters, deleteJobs } = mongoMetadataSide(config);
  const events = new MongoEventStore({ connection });
  await Promise.all([events.init(), metadata.init(), deadLetters.init(), deleteJobs.init()]);
  return {
    events,
    metadata,
    deleteJobs,
    // Without multi-document transactions, counters stay exact under
    // redelivery by the marker protocol (docs/queue.md).
    unitOfWork: { run: (work) => work() },
    writes: {
      kind: 'marked',
      writer: new MongoMarkedEventWriter(events),
      ledger: new MongoCounterLedger(metadata),
    },
    deadLetters,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: () => connection.close(),
  };
}
