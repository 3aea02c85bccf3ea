export * from './dead-letter-store.port';
export * from './rejected-events.error';
export * from './in-memory-dead-letter.store';
export * from './requeue-dead-letters';
export * from './mongo-dead-letter.store';
