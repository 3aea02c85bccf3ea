import { TallyConfig } from '@app/config';
import { MetadataStores, requireIdSecret, Stores } from '../open-stores';
import { MongoConnection } from './mongo-connection';
import { MongoCounterLedger } from './mongo-counter.ledger';
import { MongoDatasetStore } from './mongo-dataset.store';
import { MongoDeadLetterStore } from './mongo-dead-letter.store';
import { MongoDeleteJobStore } from './mongo-delete-job.store';
import { MongoEventStore } from './mongo-event.store';
import { MongoMarkedEventWriter } from './mongo-marked-event.writer';
import { MongoMetadataStore } from './mongo-metadata.store';
import { MongoSavedQueryStore } from './mongo-saved-query.store';
import { MongoCompiledQueries } from './queries/mongo-compiled-queries';

/**
 * The MongoDB side both split stores share: one connection for projects, keys,
 * counters, dead letters, delete jobs, saved queries and cached datasets (events go to
 * MongoDB or Cassandra).
 * Nothing is contacted until `init`, which the caller runs beside its own.
 */
export function mongoMetadataSide(config: TallyConfig) {
  const idSecret = requireIdSecret(config);
  const connection = new MongoConnection({
    url: config.storage.mongoUrl,
    database: config.storage.mongoDatabase,
    connectTimeoutMs: config.storage.mongoConnectTimeoutMs,
    writeConcern: config.storage.mongoWriteConcern,
  });
  const metadata = new MongoMetadataStore({ connection });
  const deadLetters = new MongoDeadLetterStore({ connection });
  const deleteJobs = new MongoDeleteJobStore({ connection });
  const savedQueries = new MongoSavedQueryStore({ connection });
  const datasets = new MongoDatasetStore({ connection });
  const stores: MetadataStores = {
    metadata,
    deadLetters,
    deleteJobs,
    savedQueries,
    datasets,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: () => connection.close(),
  };
  const init = () =>
    Promise.all([
      metadata.init(),
      deadLetters.init(),
      deleteJobs.init(),
      savedQueries.init(),
      datasets.init(),
    ]);
  return { connection, metadata, stores, init };
}

export async function openMongoMetadataStores(config: TallyConfig): Promise<MetadataStores> {
  const side = mongoMetadataSide(config);
  await side.init();
  return side.stores;
}

export async function openMongoStores(config: TallyConfig): Promise<Stores> {
  const side = mongoMetadataSide(config);
  const events = new MongoEventStore({ connection: side.connection });
  await Promise.all([events.init(), side.init()]);
  return {
    ...side.stores,
    events,
    // Without multi-document transactions, counters stay exact under
    // redelivery by the marker protocol (docs/queue.md).
    unitOfWork: { run: (work) => work() },
    writes: {
      kind: 'marked',
      writer: new MongoMarkedEventWriter(events),
      ledger: new MongoCounterLedger(side.metadata),
    },
    compiled: config.query.mongoPipelines
      ? new MongoCompiledQueries(events, side.metadata)
      : undefined,
  };
}
