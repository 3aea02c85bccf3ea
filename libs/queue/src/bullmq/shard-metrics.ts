import { Counter, Gauge } from 'prom-client';
import { BreakerState } from './circuit-breaker';
import { withTimeout } from './with-timeout';

/**
 * Per-shard metrics of the Redis ingest queue (prom-client's default
 * registry). The only label is the shard's index in REDIS_URLS (a fixed,
 * small set); the shard's address is in the logs and the configuration.
 *
 * Breaker state, backlog and oldest waiting job are read when /metrics is
 * scraped. Reading Redis on a scrape must never hang it: a shard whose
 * breaker is not closed is not asked at all, and a closed one gets
 * BACKLOG_TIMEOUT_MS; either way the shard reports NaN (unknown), not a stale
 * or made-up number.
 */

/** How long a scrape waits for one shard's backlog (shards are asked in parallel). */
export const BACKLOG_TIMEOUT_MS = 250;

/** What a shard's backlog read returns. */
export interface ShardBacklog {
  /** Jobs waiting to be processed (wait, prioritized and delayed). */
  waiting: number;
  /** When the oldest waiting job was enqueued (epoch ms); undefined when none waits. */
  oldestEnqueuedAt?: number;
}

/** One shard as the collectors see it; ShardedBullQueue registers its shards. */
export interface ShardProbe {
  shard: number;
  breakerState(): BreakerState;
  backlog(): Promise<ShardBacklog>;
}

/**
 * The gauge value of a breaker state: 0 closed (in use), 1 open (skipped),
 * 0.5 half-open (cool-down over, the next call is the probe).
 */
export function breakerStateValue(state: BreakerState): number {
  switch (state) {
    case 'closed':
      return 0;
    case 'open':
      return 1;
    case 'half-open':
      return 0.5;
  }
}

const sources = new Set<() => ShardProbe[]>();

/** Adds a queue's shards to what the collectors read; returns the removal. */
export function registerShardSource(source: () => ShardProbe[]): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

function probes(): ShardProbe[] {
  return [...sources].flatMap((source) => source());
}

export interface ShardBacklogReading {
  shard: number;
  /** NaN: not read (breaker not closed, error or timeout). */
  waiting: number;
  /** Seconds since the oldest waiting job was enqueued; 0 when none waits; NaN when not read. */
  oldestAgeSeconds: number;
}

/**
 * Reads every shard's backlog within `timeoutMs` (in parallel), skipping
 * shards whose breaker is not closed: never longer than the timeout, whatever
 * the shards do.
 */
export async function readShardBacklogs(
  shards: ShardProbe[],
  timeoutMs = BACKLOG_TIMEOUT_MS,
  now: () => number = Date.now,
): Promise<ShardBacklogReading[]> {
  return Promise.all(
    shards.map(async (probe) => {
      const unknown = { shard: probe.shard, waiting: NaN, oldestAgeSeconds: NaN };
      if (probe.breakerState() !== 'closed') return unknown;
      try {
        const backlog = await withTimeout(
          probe.backlog(),
          timeoutMs,
          `backlog of shard ${probe.shard}`,
        );
        const oldest = backlog.oldestEnqueuedAt;
        return {
          shard: probe.shard,
          waiting: backlog.waiting,
          oldestAgeSeconds: oldest === undefined ? 0 : Math.max(0, now() - oldest) / 1000,
        };
      } catch {
        return unknown;
      }
    }),
  );
}

// Both backlog gauges are collected in the same scrape (prom-client collects
// metrics concurrently): they share one read per scrape instead of two.
let reading: Promise<ShardBacklogReading[]> | null = null;
function sharedReading(): Promise<ShardBacklogReading[]> {
  reading ??= readShardBacklogs(probes()).finally(() => {
    setImmediate(() => (reading = null));
  });
  return reading;
}

// Alert on 1 (open): the shard is skipped and its share of the writes goes to
// the others. A shard that stays at 0.5 is probed only when a write arrives.
export const shardBreakerState = new Gauge({
  name: 'tally_queue_shard_breaker_state',
  help: 'Circuit breaker of each queue shard: 0 closed, 1 open (shard skipped), 0.5 half-open (next write probes it).',
  labelNames: ['shard'] as const,
  collect() {
    this.reset();
    for (const probe of probes())
      this.set({ shard: String(probe.shard) }, breakerStateValue(probe.breakerState()));
  },
});

// Jobs acknowledged by each shard: the split of writes between shards, and
// proof that the healthy shards took over while one was open.
export const shardEnqueued = new Counter({
  name: 'tally_queue_shard_enqueued_jobs_total',
  help: 'Ingest jobs (group commits) each queue shard acknowledged.',
  labelNames: ['shard'] as const,
});

// Each failed Queue.add on a shard (the batch then goes to the next shard);
// `timeout` is what a hung shard produces, `error` a refused or dropped connection.
export const shardEnqueueFailures = new Counter({
  name: 'tally_queue_shard_enqueue_failures_total',
  help: 'Failed enqueue attempts on each queue shard, by kind (timeout: no answer within the call timeout; error).',
  labelNames: ['shard', 'kind'] as const,
});

// Growing backlog = the worker is not keeping up (or is down) for that shard.
export const shardWaitingJobs = new Gauge({
  name: 'tally_queue_shard_waiting_jobs',
  help: 'Ingest jobs waiting on each queue shard, read at scrape time (NaN: shard not read, breaker not closed or no answer in time).',
  labelNames: ['shard'] as const,
  async collect() {
    const readings = await sharedReading();
    this.reset();
    for (const r of readings) this.set({ shard: String(r.shard) }, r.waiting);
  },
});

// How stale the oldest acknowledged-but-unstored write on a shard is.
export const shardOldestWaitingAge = new Gauge({
  name: 'tally_queue_shard_oldest_waiting_seconds',
  help: 'Age of the oldest waiting ingest job on each queue shard (0: none waits; NaN: shard not read).',
  labelNames: ['shard'] as const,
  async collect() {
    const readings = await sharedReading();
    this.reset();
    for (const r of readings) this.set({ shard: String(r.shard) }, r.oldestAgeSeconds);
  },
});
