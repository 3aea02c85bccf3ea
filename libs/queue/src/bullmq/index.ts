export * from './circuit-breaker';
export * from './group-commit';
export * from './ingest.worker';
export * from './redis-connection.options';
export * from './redis-shards';
export * from './shard-ping';
export * from './sharded-bull.queue';
export * from './with-timeout';
