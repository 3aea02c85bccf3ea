import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TallyConfig } from '@app/config';
import { EventStore } from './event-store.port';
import { MetadataStore, UnitOfWork } from './metadata-store.port';
import { EventPersister, UnitOfWorkEventPersister } from './persist-events';
import { DeadLetterStore, InMemoryDeadLetterStore, MongoDeadLetterStore } from './dead-letter';
import {
  MongoConnection,
  MongoCounterLedger,
  MongoEventPersister,
  MongoEventStore,
  MongoMetadataStore,
} from './mongo';
import { CassandraEventPersister, CassandraEventStore } from './cassandra';
import { SqliteDatabase, SqliteEventStore, SqliteMetadataStore, SqliteUnitOfWork } from './sqlite';
import { DeleteJobStore, MongoDeleteJobStore, SqliteDeleteJobStore } from './jobs';

export interface Stores {
  events: EventStore;
  metadata: MetadataStore;
  unitOfWork: UnitOfWork;
  /** The one write use case over these stores. */
  persister: EventPersister;
  /** Where events that can never be stored go instead of blocking their batch. */
  deadLetters: DeadLetterStore;
  /** Background deletes, beside the metadata (SQLite: in the same file as the events). */
  deleteJobs: DeleteJobStore;
  /** The keen.id secret: from config, or generated once and kept with the data. */
  idSecret: string;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES) the persister and recounts apply. */
  maxProperties: number;
  close(): Promise<void>;
}

/** Opens the configured drivers; the only place that knows which exist. */
export async function openStores(config: TallyConfig): Promise<Stores> {
  switch (config.storage.kind) {
    case 'sqlite':
      return openSqlite(config);
    case 'mongo':
      return openMongo(config);
    case 'cassandra':
      return openCassandra(config);
  }
}

function openSqlite(config: TallyConfig): Stores {
  const db = new SqliteDatabase(path.join(config.storage.dataDir, 'tally.db'), {
    maxBytes: config.storage.sqliteMaxBytes,
  });
  const events = new SqliteEventStore(db);
  const metadata = new SqliteMetadataStore(db);
  const unitOfWork = new SqliteUnitOfWork(db);
  return {
    events,
    metadata,
    unitOfWork,
    persister: new UnitOfWorkEventPersister(
      events,
      metadata,
      unitOfWork,
      config.schema.maxProperties,
    ),
    deadLetters: new InMemoryDeadLetterStore(),
    deleteJobs: new SqliteDeleteJobStore(db),
    idSecret:
      config.idSecret || metadata.setSettingIfAbsent('id_secret', randomBytes(32).toString('hex')),
    maxProperties: config.schema.maxProperties,
    close: async () => db.close(),
  };
}

function requireIdSecret(config: TallyConfig): string {
  // Every process of a deployment must derive the same ids for a replay.
  if (!config.idSecret) {
    throw new Error(
      `ID_SECRET must be set when STORE=${config.storage.kind} (the same value on every process)`,
    );
  }
  return config.idSecret;
}

/**
 * The MongoDB side both split stores share: one connection for projects, keys,
 * counters, dead letters and delete jobs (events go to Mongo or Cassandra).
 */
function mongoMetadataSide(config: TallyConfig) {
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

async function openMongo(config: TallyConfig): Promise<Stores> {
  const idSecret = requireIdSecret(config);
  const { connection, metadata, deadLetters, deleteJobs } = mongoMetadataSide(config);
  const events = new MongoEventStore({ connection });
  await Promise.all([events.init(), metadata.init(), deadLetters.init(), deleteJobs.init()]);
  return {
    events,
    metadata,
    deleteJobs,
    // Without multi-document transactions the Mongo persister keeps counters
    // exact under redelivery by itself (see docs/queue.md).
    unitOfWork: { run: (work) => work() },
    persister: new MongoEventPersister({
      events,
      metadata,
      maxProperties: config.schema.maxProperties,
    }),
    deadLetters,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: () => connection.close(),
  };
}

/** Events in Cassandra; projects, keys, counters and dead letters stay in MongoDB. */
async function openCassandra(config: TallyConfig): Promise<Stores> {
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
    // Exact counters under redelivery, keyed by the by-id claim token (docs/cassandra.md);
    // the counters are MongoDB's, so the ledger is composed here.
    persister: new CassandraEventPersister({
      events,
      ledger: new MongoCounterLedger(metadata),
      maxProperties: config.schema.maxProperties,
    }),
    deadLetters,
    idSecret,
    maxProperties: config.schema.maxProperties,
    close: async () => {
      await events.close();
      await connection.close();
    },
  };
}
