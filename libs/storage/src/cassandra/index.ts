export * from './cassandra-client';
export * from './cassandra-event.store';
export { CASSANDRA_MIGRATIONS, migrate } from './cassandra-migrations';
export type { CassandraMigration } from './cassandra-migrations';
export * from './cassandra-event.persister';
export * from './cassandra-marked-event.writer';
