export * from './event-store.port';
export * from './metadata-store.port';
export * from './persist-events';
export * from './open-stores';
export * from './storage.module';
export * from './sqlite';
export * from './dead-letter/dead-letter-store.port';
