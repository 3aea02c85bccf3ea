export * from './platform/create-http-app';
export * from './platform/keen-exception.filter';
export * from './platform/logging.module';
export * from './platform/request-origin';
export * from './api.modules';
export * from './collection-get.controller';
export * from './health.controller';
export * from './ingest/id-secret';
