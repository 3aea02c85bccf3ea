export * from './mongo-connection';
export * from './mongo-event.store';
export * from './mongo-metadata.store';
export * from './mongo-event.persister';
export * from './mongo-marked-event.writer';
export * from './mongo-counter.ledger';
