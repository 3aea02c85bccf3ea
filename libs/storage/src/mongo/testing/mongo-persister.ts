import { MarkedEventPersister } from '@app/core';
import { MongoCounterLedger } from '../mongo-counter.ledger';
import { MongoEventStore } from '../mongo-event.store';
import { MongoMarkedEventWriter } from '../mongo-marked-event.writer';
import { MongoMetadataStore } from '../mongo-metadata.store';

/** The persister a MongoDB deployment runs (persisterFor), built from the adapters a test holds. */
export function mongoEventPersister(options: {
  events: MongoEventStore;
  metadata: MongoMetadataStore;
  takeoverAfterMs?: number;
  maxProperties?: number;
}): MarkedEventPersister {
  return new MarkedEventPersister({
    writer: new MongoMarkedEventWriter(options.events),
    ledger: new MongoCounterLedger(options.metadata),
    takeoverAfterMs: options.takeoverAfterMs,
    maxProperties: options.maxProperties,
  });
}
