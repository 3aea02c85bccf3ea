import { MarkedEventPersister } from '../persist';
import { MongoCounterLedger } from './mongo-counter.ledger';
import { MongoEventStore } from './mongo-event.store';
import { MongoMarkedEventWriter } from './mongo-marked-event.writer';
import { MongoMetadataStore } from './mongo-metadata.store';

export interface MongoEventPersisterOptions {
  events: MongoEventStore;
  metadata: MongoMetadataStore;
  /** See MarkedEventPersisterOptions.takeoverAfterMs (default 60 s). */
  takeoverAfterMs?: number;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES), decided atomically with each counter update. */
  maxProperties?: number;
}

/**
 * The write use case with events and counters in MongoDB: the marker protocol
 * (MarkedEventPersister, docs/queue.md) over the Mongo adapters of its ports.
 * Only the wiring lives here.
 */
export class MongoEventPersister extends MarkedEventPersister {
  constructor(options: MongoEventPersisterOptions) {
    super({
      writer: new MongoMarkedEventWriter(options.events),
      ledger: new MongoCounterLedger(options.metadata),
      takeoverAfterMs: options.takeoverAfterMs,
      maxProperties: options.maxProperties,
    });
  }
}
