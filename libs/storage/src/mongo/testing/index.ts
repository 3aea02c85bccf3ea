export * from './mongo-persister';
export * from './test-mongo';
