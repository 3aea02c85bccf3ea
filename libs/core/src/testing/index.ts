export * from './delete-lifecycle.contract';
export * from './event-persister.contract';
export * from './schema-cap.scenario';
export * from './dataset-property.scenario';
