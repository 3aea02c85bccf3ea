import { CounterLedger, MarkedEventPersister } from '../persist';
import { CassandraEventStore } from './cassandra-event.store';
import { CassandraMarkedEventWriter } from './cassandra-marked-event.writer';

export interface CassandraEventPersisterOptions {
  events: CassandraEventStore;
  /** Where the schema counters live (MongoDB in the split deployment; composed in openStores). */
  ledger: CounterLedger;
  /** See MarkedEventPersisterOptions.takeoverAfterMs (default 60 s). */
  takeoverAfterMs?: number;
  /** The schema property cap (SCHEMA_MAX_PROPERTIES), decided atomically with each counter update. */
  maxProperties?: number;
}

/**
 * The write use case with events in Cassandra: the marker protocol
 * (MarkedEventPersister, docs/queue.md) with the by-id claim token as the
 * marker (docs/cassandra.md). Only the wiring lives here.
 */
export class CassandraEventPersister extends MarkedEventPersister {
  constructor(options: CassandraEventPersisterOptions) {
    super({
      writer: new CassandraMarkedEventWriter(options.events),
      ledger: options.ledger,
      takeoverAfterMs: options.takeoverAfterMs,
      maxProperties: options.maxProperties,
    });
  }
}
