export * from './open-sqlite';
export * from './sqlite-database';
export * from './sqlite-delete-job.store';
export * from './sqlite-event.store';
export * from './sqlite-metadata.store';
export * from './sqlite-migrations';
export * from './writer-thread/sqlite-writer-thread';
export * from './writer-thread/writer-thread.host';
