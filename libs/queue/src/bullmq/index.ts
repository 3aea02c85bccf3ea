export * from './ingest-job.types';
export * from './circuit-breaker';
export * from './redis-connection.options';
export * from './group-commit';
export * from './sharded-bull.queue';
