import { Module } from '@nestjs/common';
import { DeadLetterAdmin, persisterFor } from '@app/core';
import { EVENT_PERSISTER, EventPersister, STORES, Stores } from '@app/storage';
import { DeadLettersController } from './dead-letters.controller';

/**
 * The dead-letter API, loaded by the query pool and standalone. A requeue
 * writes through the process's own persister when it has one (standalone's
 * writer thread, so the main connection never writes events beside it);
 * the query pool builds the deployment's persister from its stores, the
 * same persisterFor the worker runs.
 */
@Module({
  controllers: [DeadLettersController],
  providers: [
    {
      provide: DeadLetterAdmin,
      inject: [STORES, { token: EVENT_PERSISTER, optional: true }],
      useFactory: (stores: Stores, persister?: EventPersister) =>
        new DeadLetterAdmin(stores.deadLetters, persister ?? persisterFor(stores)),
    },
  ],
})
export class DeadLettersModule {}
