import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { EVENT_STORE, EventStore } from './ports/event-store.port';
import {
  METADATA_STORE,
  MetadataStore,
  UNIT_OF_WORK,
  UnitOfWork,
} from './ports/metadata-store.port';
import { MetadataStores, openMetadataStores, openStores, Stores } from './open-stores';

/** Every store the process opened (query pool, standalone). */
export const STORES = Symbol('STORES');
/** The metadata side, which every pool opens (the ingest pool opens only this). */
export const METADATA_STORES = Symbol('METADATA_STORES');

class StoresCloser implements OnApplicationShutdown {
  constructor(@Inject(METADATA_STORES) private readonly stores: MetadataStores) {}
  async onApplicationShutdown(): Promise<void> {
    await this.stores.close();
  }
}

/** Chooses the store drivers from config, in this one place. */
@Global()
@Module({})
export class StorageModule {
  /** Events and metadata: for the pools that read, delete or write events themselves. */
  static forRoot(): DynamicModule {
    return {
      module: StorageModule,
      providers: [
        { provide: STORES, inject: [TALLY_CONFIG], useFactory: (c: TallyConfig) => openStores(c) },
        { provide: METADATA_STORES, useExisting: STORES },
        { provide: EVENT_STORE, inject: [STORES], useFactory: (s: Stores): EventStore => s.events },
        {
          provide: METADATA_STORE,
          inject: [STORES],
          useFactory: (s: Stores): MetadataStore => s.metadata,
        },
        {
          provide: UNIT_OF_WORK,
          inject: [STORES],
          useFactory: (s: Stores): UnitOfWork => s.unitOfWork,
        },
        StoresCloser,
      ],
      exports: [STORES, METADATA_STORES, EVENT_STORE, METADATA_STORE, UNIT_OF_WORK],
    };
  }

  /**
   * Metadata only, for the ingest pool: it authenticates and enqueues, and
   * never touches events, so it neither needs nor waits for the event store.
   */
  static forMetadata(): DynamicModule {
    return {
      module: StorageModule,
      providers: [
        {
          provide: METADATA_STORES,
          inject: [TALLY_CONFIG],
          useFactory: (c: TallyConfig) => openMetadataStores(c),
        },
        {
          provide: METADATA_STORE,
          inject: [METADATA_STORES],
          useFactory: (s: MetadataStores): MetadataStore => s.metadata,
        },
        StoresCloser,
      ],
      exports: [METADATA_STORES, METADATA_STORE],
    };
  }
}
