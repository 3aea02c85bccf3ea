export * from './schema.types';
export * from './infer-schema';
export * from './schema-view';
export * from './schema-cap';
