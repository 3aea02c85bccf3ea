export * from './access';
export * from './auth.module';
export * from './key-cache';
export * from './key-hash';
export * from './key.guard';
export * from './require-key.decorator';
