import { createHash } from 'node:crypto';

/** keen.id as Tally derives it: 8 hex digits of the event's second, then 16 of a keyed hash. */
const KEEN_ID = /^[0-9a-f]{24}$/;
/** Seconds of event time in one claim window (2^10: 17 minutes). */
const WINDOW_BITS = 10;
/** Slots per window, from the last hex digit of the id's keyed hash. */
const SLOTS = 4;

/**
 * The `event_claims` partition of an id, from the id alone (lookups and
 * deletes by id know nothing else).
 *
 * For a keen.id: its window of 1,024 s of event time and one of 4 slots of its
 * hash, as `<window in hex>.<slot>`. The events of a write mostly share a
 * window, so their claims fall into about 4 partitions whatever the write's
 * size, and each partition is claimed with one conditional batch (one Paxos
 * round). The slots spread concurrent writers of a project over 4 partitions'
 * Paxos state; more slots only split writes into more rounds
 * (`npm run bench -- cassandra-claims`, docs/cassandra.md). The window bounds
 * a partition's size: a project storing 100 million events a day puts about
 * 300,000 claims in each.
 *
 * Any other id (the store's contract allows any string) gets a partition from
 * a hash of the whole id: one claim per partition, as before this layout.
 */
export function claimPartition(id: string): string {
  if (KEEN_ID.test(id)) {
    const window = parseInt(id.slice(0, 8), 16) >>> WINDOW_BITS;
    return `${window.toString(16)}.${parseInt(id[23], 16) % SLOTS}`;
  }
  return `~${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}
