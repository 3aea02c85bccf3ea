export * from './beacon';
export * from './collection-get.controller';
