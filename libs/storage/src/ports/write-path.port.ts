import { CounterLedger } from './counter-ledger.port';
import { MarkedEventWriter } from './marked-event-writer.port';

/**
 * How a store keeps schema counters exact when events are written, which
 * decides the persister the process runs (persisterFor, libs/core/src/persist):
 *  - `transactional`: the unit of work spans events and counters (SQLite), so
 *    one transaction inserts and counts;
 *  - `marked`: no transaction spans them (MongoDB, Cassandra), so each event
 *    carries a marker until its counters are applied (docs/queue.md).
 */
export type WritePath =
  { kind: 'transactional' } | { kind: 'marked'; writer: MarkedEventWriter; ledger: CounterLedger };
