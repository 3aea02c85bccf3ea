export * from './abort-on-disconnect';
export * from './deletes/delete-jobs.controller';
export * from './deletes/delete-property.controller';
export * from './deletes/delete.controller';
export * from './ndjson';
export * from './queries.controller';
export * from './query-api.module';
export * from './schema.controller';
