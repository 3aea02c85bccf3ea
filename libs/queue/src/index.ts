export * from './ingest-job.handler';
export * from './ingest-job.types';
export * from './ingest-queue.port';
export * from './queue-metrics';
export * from './ingest-rate-limiter.port';
