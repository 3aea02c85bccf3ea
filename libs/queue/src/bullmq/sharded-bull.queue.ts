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
  /** Calls to it that missed their call timeout and have not settled yet. */
  stalls: Set<Promise<unknown>>;
}

/**
 * IngestQueue over N independent Redis shards. A batch is durable once one
 * shard acknowledged its job; a shard that errs or does not answer within the
 * call timeout is marked down and the same job (same id) goes to the next
 * healthy shard, within the enqueue deadline. With no healthy shard, enqueue
 * rejects with a 503-kind TallyError at once, unless a shard is only stalled
 * (see commit).
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
    const deadlineMs = options.enqueueDeadlineMs ?? 1000;
    const timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 500,
      // The client gives up on a command only at the request's deadline: a
      // shard that missed its call timeout may still acknowledge in time
      // (see commit), and commands to a hung shard are still dropped then.
      commandTimeoutMs: Math.max(this.callTimeoutMs, deadlineMs),
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
      return { index, address: `${shard.host}:${shard.port}`, queue, breaker, stalls: new Set() };
    });
    this.pinger = new RedisShardPinger(options.shards, {
      connectTimeoutMs: options.connectTimeoutMs,
    });
    this.committer = new GroupCommitter(
      {
        windowMs: options.groupWindowMs ?? 2,
        maxEventsPerGroup: options.maxEventsPerJob ?? 5000,
        deadlineMs,
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
    // Fail fast: with every breaker open and no shard that may still answer,
    // there is nothing to wait for.
    if (!this.shards.some((s) => s.breaker.isAvailable() || s.stalls.size > 0)) {
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

  /**
   * Tries shards round-robin until one acknowledges or the deadline passes.
   * A shard that misses its call timeout is marked (its breaker opens, so
   * other requests skip it) and the next shard is tried; its Queue.add is not
   * cancelled: the shard is *stalled* until that call settles, which the
   * client bounds by the enqueue deadline.
   *
   * When no shard acknowledged in time, the request waits out the rest of its
   * deadline for a late answer: its own calls that timed out, and a copy of
   * its job queued behind each shard stalled by other requests' calls. One
   * disk stall slows every shard at once (AOF fsync on every write); a late
   * acknowledgement is as durable as a prompt one, and a 503 would only make
   * the client send the batch again. A shard whose stalled call fails is hung:
   * it is no longer waited on, and requests fail fast until its cool-down ends.
   */
  private async commit(payload: IngestBatchPayload, deadline: number): Promise<void> {
    const jobId = jobIdFor(payload.batchId);
    const late: Promise<void>[] = [];
    const stalled: Shard[] = [];
    const start = this.next++ % this.shards.length;
    for (let step = 0; step < this.shards.length; step++) {
      const shard = this.shards[(start + step) % this.shards.length];
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      if (!shard.breaker.tryAcquire()) {
        if (shard.stalls.size > 0) stalled.push(shard);
        continue;
      }
      const wasClosed = shard.breaker.state === 'closed';
      const add = this.add(shard, payload, jobId);
      try {
        await withTimeout(
          add,
          Math.min(this.callTimeoutMs, remaining),
          `Queue.add on shard ${shard.address}`,
        );
        this.succeeded(shard, wasClosed);
        return;
      } catch (error) {
        const timedOut = (error as Error).name === 'CallTimeoutError';
        this.failed(shard, timedOut ? 'timeout' : 'error', (error as Error).message);
        if (timedOut) late.push(this.stall(shard, add));
      }
    }
    for (const shard of stalled)
      if (shard.stalls.size > 0) late.push(this.behindStall(shard, payload, jobId));
    const remaining = deadline - Date.now();
    if (late.length > 0 && remaining > 0) {
      try {
        await withTimeout(Promise.any(late), remaining, 'a late Queue.add');
        return;
      } catch {
        // No shard answered within the deadline either.
      }
    }
    throw this.unavailable('no queue shard acknowledged the batch in time');
  }

  private add(shard: Shard, payload: IngestBatchPayload, jobId: string): Promise<unknown> {
    return shard.queue.add(INGEST_BATCH_JOB, payload, {
      jobId,
      // The worker retries store failures itself; these attempts only
      // cover a worker that dies or shuts down mid-job.
      attempts: 1_000_000,
      backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: { age: this.keepCompletedSeconds },
      removeOnFail: false,
    });
  }

  private succeeded(shard: Shard, wasClosed: boolean): void {
    shard.breaker.onSuccess();
    shardEnqueued.inc({ shard: String(shard.index) });
    if (!wasClosed) this.emit({ shard: shard.index, kind: 'closed' });
  }

  private failed(shard: Shard, kind: 'timeout' | 'error', message: string): void {
    shardEnqueueFailures.inc({ shard: String(shard.index), kind });
    this.emit({ shard: shard.index, kind, message });
    const wasOpen = shard.breaker.state === 'open';
    shard.breaker.onFailure();
    if (!wasOpen && shard.breaker.state === 'open')
      this.emit({ shard: shard.index, kind: 'opened' });
  }

  /** A call that missed its call timeout: the shard is stalled until it settles. */
  private stall(shard: Shard, add: Promise<unknown>): Promise<void> {
    const answered = this.lateAnswer(shard, add);
    shard.stalls.add(add);
    const settled = (): void => {
      shard.stalls.delete(add);
    };
    add.then(settled, settled);
    return answered;
  }

  /**
   * A copy of the job queued behind a shard's stalled calls. It is given up
   * as soon as they all fail (the shard is hung, the copy would only wait for
   * the client's command timeout); if one of them answered, the breaker is
   * closed and the copy is answered next.
   */
  private behindStall(shard: Shard, payload: IngestBatchPayload, jobId: string): Promise<void> {
    const copy = this.lateAnswer(shard, this.add(shard, payload, jobId));
    const hung = Promise.allSettled([...shard.stalls]).then(() => {
      if (shard.breaker.state === 'closed') return copy;
      throw new Error(`queue shard ${shard.address} did not answer its stalled calls`);
    });
    hung.catch(() => undefined);
    return Promise.race([copy, hung]);
  }

  /**
   * A late acknowledgement: the shard is slow, not hung, so its breaker
   * closes at once instead of refusing every request for the whole cool-down
   * after a short stall.
   */
  private lateAnswer(shard: Shard, add: Promise<unknown>): Promise<void> {
    const answered = add.then(() => {
      const wasClosed = shard.breaker.state === 'closed';
      this.succeeded(shard, wasClosed);
    });
    // Nobody awaits it once another shard acknowledged.
    answered.catch(() => undefined);
    return answered;
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
