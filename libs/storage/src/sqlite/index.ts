export * from './sqlite-database';
export * from './sqlite-event.store';
export * from './sqlite-metadata.store';
