export * from './tally-config';
export * from './load-config';
export * from './config.module';
export * from './run-main';
export * from './email-address';
