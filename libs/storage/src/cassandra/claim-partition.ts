import { createHash } from 'node:crypto';

/** keen.id as Tally derives it: 8 hex digits of the event's second, then 16 of a keyed hash. */
const KEEN_ID = /^[0-9a-f]{24}$/;

/**
 * The `event_claims` partition of an id, from the id alone (lookups and
 * deletes by id know nothing else).
 *
 * For a keen.id: its first 5 hex digits, a window of 4,096 s (68 minutes) of
 * event time, and its last digit, one of 16 slots of the hash. The events of a
 * write mostly share a window, so their claims fall into at most 16 partitions
 * whatever the write's size, and each partition is claimed with one
 * conditional batch (one Paxos round). The slots keep concurrent writers of a
 * project from queueing on one partition's Paxos state, and the window bounds
 * a partition's size: a project storing 100 million events a day puts about
 * 300,000 claims in each.
 *
 * Any other id (the store's contract allows any string) gets a partition from
 * a hash of the whole id: one claim per partition, as before this layout.
 */
export function claimPartition(id: string): string {
  if (KEEN_ID.test(id)) return id.slice(0, 5) + id[23];
  return `~${createHash('sha256').update(id).digest('hex').slice(0, 12)}`;
}
