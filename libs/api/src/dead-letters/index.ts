export * from './dead-letters.controller';
export * from './dead-letters.module';
