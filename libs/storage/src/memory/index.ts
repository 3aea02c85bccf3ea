export * from './in-memory-dead-letter.store';
