export * from './ingest-job.processor';
export * from './ingest.worker';
