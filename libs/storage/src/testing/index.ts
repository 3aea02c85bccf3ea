export * from './delete-job-store.contract';
export * from './event-store.contract';
