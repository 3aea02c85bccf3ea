export * from './access';
export * from './key-hash';
export * from './key-cache';
export * from './key.guard';
export * from './require-key.decorator';
export * from './projects.service';
export * from './auth.module';
