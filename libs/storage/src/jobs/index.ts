export * from './delete-job.store.port';
export * from './sqlite-delete-job.store';
export * from './mongo-delete-job.store';
export * from './delete-size';
export * from './run-delete-job';
