export * from './events-write.controller';
export * from './ingest-api.module';
export * from './ingest-queue.module';
