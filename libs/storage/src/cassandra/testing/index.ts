export * from './test-cassandra';
