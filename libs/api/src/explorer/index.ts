export * from './explorer.controller';
export * from './explorer.module';
