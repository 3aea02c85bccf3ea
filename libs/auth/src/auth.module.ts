import { Global, Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { METADATA_STORE, MetadataStore } from '@app/storage';
import { KeyCache } from './key-cache';
import { KeyGuard } from './key.guard';

class KeyCacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(KeyCache) private readonly cache: KeyCache) {}
  async onModuleInit(): Promise<void> {
    await this.cache.start();
  }
  onApplicationShutdown(): void {
    this.cache.stop();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: KeyCache,
      inject: [METADATA_STORE, TALLY_CONFIG],
      useFactory: (metadata: MetadataStore, config: TallyConfig) =>
        new KeyCache(metadata, { refreshMs: config.keyCacheRefreshMs }),
    },
    KeyCacheLifecycle,
    { provide: APP_GUARD, useClass: KeyGuard },
  ],
  exports: [KeyCache],
})
export class AuthModule {}
