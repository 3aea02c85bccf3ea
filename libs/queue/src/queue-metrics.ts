import { Histogram } from 'prom-client';

/**
 * Metrics of the ingest queue, whichever it is (prom-client's default
 * registry; served by /metrics). Shard metrics of the Redis queue are in
 * bullmq/shard-metrics.ts.
 */

// How many events each group commit carried: one commit is one SQLite
// transaction (inline) or one BullMQ job (redis). Mostly 1 means concurrent
// requests rarely meet inside the window; near the cap means commits are full.
export const groupCommitEvents = new Histogram({
  name: 'tally_group_commit_events',
  help: 'Events per group commit (one SQLite transaction inline, one queue job on Redis), by queue kind.',
  labelNames: ['queue'] as const,
  buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
});

export type QueueKind = 'inline' | 'redis';

export function observeGroupCommit(queue: QueueKind, events: number): void {
  groupCommitEvents.observe({ queue }, events);
}
