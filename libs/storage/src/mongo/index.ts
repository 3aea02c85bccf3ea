export * from './mongo-connection';
export * from './mongo-event.store';
export * from './mongo-metadata.store';
export * from './mongo-event.persister';
