export * from './ingest-queue.port';
export * from './inline/inline.queue';
export * from './queue.module';
