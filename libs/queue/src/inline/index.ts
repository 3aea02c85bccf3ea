export * from './inline.queue';
