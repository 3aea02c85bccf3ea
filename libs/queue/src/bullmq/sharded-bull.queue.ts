import { Queue } from 'bullmq';
import { EventBatch, TallyError } from '@app/events';
import { IngestQueue } from '../ingest-queue.port';
import { BreakerState, CircuitBreaker } from './circuit-breaker';
import { GroupCommitter, jobIdFor } from './group-commit';
import {
  INGEST_BATCH_JOB,
  INGEST_QUEUE_NAME,
  IngestBatchPayload,
  IngestJobs,
} from '../ingest-job.types';
import { RedisShardOptions, failFastRedisOptions } from './redis-connection.options';
import { withTimeout } from './with-timeout';
import { RedisShardPinger } from './shard-ping';
import { observeGroupCommit } from '../queue-metrics';
import {
  registerShardSource,
  ShardBacklog,
  shardEnqueued,
  shardEnqueueFailures,
} from './shard-metrics';

export interface ShardedBullQueueOptions {
  shards: RedisShardOptions[];
  queueName?: string;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  /** Group-commit window (default 2 ms). */
  groupWindowMs?: number;
  /** Events per merged job (default 5000). */
  maxEventsPerJob?: number;
  /** Timeout of one Queue.add on one shard (default 250 ms). */
  callTimeoutMs?: number;
  /** Overall budget of one enqueue(), failovers included (default 1000 ms). */
  enqueueDeadlineMs?: number;
  /** TCP connect timeout (default 500 ms). */
  connectTimeoutMs?: number;
  /** Consecutive failures that open a shard's breaker (default 1). */
  breakerFailureThreshold?: number;
  /** Open-breaker cool-down before a probe (default 5000 ms). */
  breakerCoolDownMs?: number;
  /** Retry-After of the 503 when no shard is healthy (default 1 s). */
  retryAfterSeconds?: number;
  /** Completed jobs are kept this long so a late duplicate add on the same shard is a no-op (default 600 s). */
  keepCompletedSeconds?: number;
  /** Called for shard errors and breaker transitions (wire to the logger). */
  onShardEvent?: (event: ShardEvent) => void;
}

export interface ShardEvent {
  shard: number;
  kind: 'error' | 'timeout' | 'opened' | 'closed';
  message?: string;
}

export interface ShardStatus {
  shard: number;
  address: string;
  breaker: BreakerState;
}

type IngestQueueClient = Queue<IngestJobs[typeof INGEST_BATCH_JOB], void, typeof INGEST_BATCH_JOB>;

interface Shard {
  index: number;
  address: string;
  queue: IngestQueueClient;
  breaker: CircuitBreaker;
}

/**
 * IngestQueue over N independent Redis shards. A batch is durable once one
 * shard acknowledged its job; a shard that errs or does not answer within the
 * call timeout is marked down and the same job (same id) goes to the next
 * healthy shard, within the enqueue deadline. With no healthy shard, enqueue
 * rejects with a 503-kind TallyError at once.
 */
export class ShardedBullQueue implements IngestQueue {
  private readonly shards: Shard[];
  private readonly committer: GroupCommitter;
  private readonly pinger: RedisShardPinger;
  private readonly callTimeoutMs: number;
  private readonly retryAfterSeconds: number;
  private readonly keepCompletedSeconds: number;
  private next = 0;
  private closing = false;
  private readonly unregisterMetrics: () => void;

  constructor(private readonly options: ShardedBullQueueOptions) {
    if (options.shards.length === 0) throw new Error('ShardedBullQueue needs at least one shard');
    this.callTimeoutMs = options.callTimeoutMs ?? 250;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    this.keepCompletedSeconds = options.keepCompletedSeconds ?? 600;
    const timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 500,
      commandTimeoutMs: this.callTimeoutMs,
    };
    this.shards = options.shards.map((shard, index) => {
      const queue: IngestQueueClient = new Queue(options.queueName ?? INGEST_QUEUE_NAME, {
        connection: failFastRedisOptions(shard, timeouts),
        prefix: options.prefix,
        skipMetasUpdate: true,
      });
      // Without a listener an 'error' event would crash the process.
      queue.on('error', (error: Error) =>
        this.emit({ shard: index, kind: 'error', message: error.message }),
      );
      const breaker = new CircuitBreaker({
        failureThreshold: options.breakerFailureThreshold ?? 1,
        coolDownMs: options.breakerCoolDownMs ?? 5000,
      });
      return { index, address: `${shard.host}:${shard.port}`, queue, breaker };
    });
    this.pinger = new RedisShardPinger(options.shards, {
      connectTimeoutMs: options.connectTimeoutMs,
    });
    this.committer = new GroupCommitter(
      {
        windowMs: options.groupWindowMs ?? 2,
        maxEventsPerGroup: options.maxEventsPerJob ?? 5000,
        deadlineMs: options.enqueueDeadlineMs ?? 1000,
      },
      (payload, deadline) => {
        observeGroupCommit(
          'redis',
          payload.projects.reduce((n, p) => n + p.events.length, 0),
        );
        return this.commit(payload, deadline);
      },
    );
    this.unregisterMetrics = registerShardSource(() =>
      this.shards.map((shard) => ({
        shard: shard.index,
        breakerState: () => shard.breaker.state,
        backlog: () => backlogOf(shard.queue),
      })),
    );
  }

  enqueue(batch: EventBatch): Promise<void> {
    if (this.closing) return Promise.reject(this.unavailable('the ingest queue is shutting down'));
    // Fail fast: with every breaker open there is nothing to wait for.
    if (!this.shards.some((s) => s.breaker.isAvailable())) {
      return Promise.reject(this.unavailable('no queue shard is available'));
    }
    return this.committer.submit(batch);
  }

  status(): ShardStatus[] {
    return this.shards.map((s) => ({
      shard: s.index,
      address: s.address,
      breaker: s.breaker.state,
    }));
  }

  /**
   * Ready while one shard answers PING within the timeout and its breaker is
   * not open (an open breaker means enqueues skip it until its cool-down ends).
   * Resolves with the first such shard: one hung shard does not delay it.
   */
  ping(timeoutMs: number): Promise<void> {
    if (this.closing) return Promise.reject(new Error('the ingest queue is shutting down'));
    return this.pinger.pingAny(timeoutMs, (index) =>
      this.shards[index].breaker.state === 'open' ? 'breaker open after failed enqueues' : null,
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    this.unregisterMetrics();
    await this.committer.drain();
    await Promise.all(
      this.shards.map(async (shard) => {
        try {
          await withTimeout(shard.queue.close(), 1000, `closing shard ${shard.address}`);
        } catch {
          // A hung or dead shard cannot close politely; drop its sockets, bounded too.
          await withTimeout(
            shard.queue.disconnect(),
            500,
            `disconnecting shard ${shard.address}`,
          ).catch(() => undefined);
        }
      }),
    );
    await this.pinger.close();
  }

  /** Tries shards round-robin until one acknowledges or the deadline passes. */
  private async commit(payload: IngestBatchPayload, deadline: number): Promise<void> {
    const jobId = jobIdFor(payload.batchId);
    const tried = new Set<number>();
    const start = this.next++ % this.shards.length;
    for (let step = 0; step < this.shards.length; step++) {
      const shard = this.shards[(start + step) % this.shards.length];
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (tried.has(shard.index) || !shard.breaker.tryAcquire()) continue;
      tried.add(shard.index);
      const wasClosed = shard.breaker.state === 'closed';
      try {
        await withTimeout(
          shard.queue.add(INGEST_BATCH_JOB, payload, {
            jobId,
            // The worker retries store failures itself; these attempts only
            // cover a worker that dies or shuts down mid-job.
            attempts: 1_000_000,
            backoff: { type: 'fixed', delay: 1000 },
            removeOnComplete: { age: this.keepCompletedSeconds },
            removeOnFail: false,
          }),
          Math.min(this.callTimeoutMs, remaining),
          `Queue.add on shard ${shard.address}`,
        );
        shard.breaker.onSuccess();
        shardEnqueued.inc({ shard: String(shard.index) });
        if (!wasClosed) this.emit({ shard: shard.index, kind: 'closed' });
        return;
      } catch (error) {
        const timedOut = (error as Error).name === 'CallTimeoutError';
        shardEnqueueFailures.inc({
          shard: String(shard.index),
          kind: timedOut ? 'timeout' : 'error',
        });
        this.emit({
          shard: shard.index,
          kind: timedOut ? 'timeout' : 'error',
          message: (error as Error).message,
        });
        shard.breaker.onFailure();
        if (shard.breaker.state !== 'closed') this.emit({ shard: shard.index, kind: 'opened' });
      }
    }
    throw this.unavailable('no queue shard acknowledged the batch in time');
  }

  private unavailable(message: string): TallyError {
    return new TallyError(
      'unavailable',
      'ServiceUnavailableError',
      message,
      this.retryAfterSeconds,
    );
  }

  private emit(event: ShardEvent): void {
    this.options.onShardEvent?.(event);
  }
}

/**
 * A shard's backlog for the metrics: jobs still to process, and the enqueue
 * time of the oldest one waiting (getWaiting lists in ascending order, so its
 * first entry). The caller bounds the time (shard-metrics.ts).
 */
async function backlogOf(queue: IngestQueueClient): Promise<ShardBacklog> {
  const waiting = await queue.getJobCountByTypes('wait', 'prioritized', 'delayed');
  if (waiting === 0) return { waiting };
  const [oldest] = await queue.getWaiting(0, 0);
  return { waiting, oldestEnqueuedAt: oldest?.timestamp };
}
