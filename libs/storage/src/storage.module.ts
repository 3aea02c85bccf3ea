import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { EVENT_STORE, EventStore } from './event-store.port';
import { METADATA_STORE, MetadataStore, UNIT_OF_WORK, UnitOfWork } from './metadata-store.port';
import { EventPersister } from './persist-events';
import { openStores, Stores } from './open-stores';

export const STORES = Symbol('STORES');

class StoresCloser implements OnApplicationShutdown {
  constructor(@Inject(STORES) private readonly stores: Stores) {}
  async onApplicationShutdown(): Promise<void> {
    await this.stores.close();
  }
}

/** Chooses the store drivers from config, in this one place. */
@Global()
@Module({})
export class StorageModule {
  static forRoot(): DynamicModule {
    return {
      module: StorageModule,
      providers: [
        { provide: STORES, inject: [TALLY_CONFIG], useFactory: (c: TallyConfig) => openStores(c) },
        { provide: EVENT_STORE, inject: [STORES], useFactory: (s: Stores): EventStore => s.events },
        { provide: METADATA_STORE, inject: [STORES], useFactory: (s: Stores): MetadataStore => s.metadata },
        { provide: UNIT_OF_WORK, inject: [STORES], useFactory: (s: Stores): UnitOfWork => s.unitOfWork },
        {
          provide: EventPersister,
          inject: [STORES],
          useFactory: (s: Stores) => s.persister,
        },
        StoresCloser,
      ],
      exports: [STORES, EVENT_STORE, METADATA_STORE, UNIT_OF_WORK, EventPersister],
    };
  }
}

