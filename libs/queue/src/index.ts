export * from './ingest-queue.port';
export * from './inline/inline.queue';
export * from './queue.module';
export * from './redis-shards';
export { IngestWorker } from './worker/ingest.worker';
export type { IngestWorkerOptions, WorkerEvent } from './worker/ingest.worker';
