export * from './dataset-store.contract';
export * from './dead-letter-store.contract';
export * from './delete-job-store.contract';
export * from './event-store.contract';
export * from './metadata-store.contract';
export * from './saved-query-store.contract';
