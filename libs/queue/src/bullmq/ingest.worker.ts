import { Job } from 'bullmq';
import { INGEST_QUEUE_NAME, IngestBatchPayload, IngestJobName } from '../ingest-job.types';
import { IngestJobHandler, IngestJobOutcome } from '../ingest-job.handler';
import { GatedWorker } from './gated.worker';
import { HeldEventsGate } from './held-events.gate';
import { RedisShardOptions, workerRedisOptions } from './redis-connection.options';
import { withTimeout } from './with-timeout';

export interface IngestWorkerOptions {
  shards: RedisShardOptions[];
  /** What each job runs: the write use case (core's IngestJobProcessor). */
  handler: IngestJobHandler;
  queueName?: string;
  prefix?: string;
  /** Jobs held at once per shard, at most (WORKER_CONCURRENCY, default 64). */
  concurrency?: number;
  /**
   * Events held at once across every shard (WORKER_MAX_HELD_EVENTS, default
   * 20,000): at or over it, no shard fetches another job (HeldEventsGate).
   */
  maxHeldEvents?: number;
  /** TCP connect timeout (default 500 ms). */
  connectTimeoutMs?: number;
  /**
   * Per-command timeout. Must exceed the worker's blocking poll (BullMQ blocks
   * up to `drainDelay` = 5 s), so the default is 10 s.
   */
  commandTimeoutMs?: number;
  /** A job whose lock is not renewed for this long is redelivered (default 30 s). */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for (default 15 s). */
  stalledIntervalMs?: number;
  /** close(): how long in-flight jobs may take before they are aborted and left for redelivery (default 10 s). */
  closeGraceMs?: number;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { kind: 'completed'; shard: number; jobId: string; outcome: IngestJobOutcome }
  | { kind: 'failed'; shard: number; jobId: string; error: string }
  | { kind: 'error'; shard: number; error: string };

/**
 * Consumes the ingest queue on every shard: one BullMQ Worker per shard, each
 * with its own connections, so a hung or dead shard only stalls its own
 * worker. Each job goes to the handler it is given: the same write use case
 * the standalone process runs.
 */
export class IngestWorker {
  private readonly workers: GatedWorker[];
  private readonly closeController = new AbortController();
  private readonly gate: HeldEventsGate;
  private started = false;
  private closeRequested = false;

  constructor(private readonly options: IngestWorkerOptions) {
    const emit = (event: WorkerEvent) => options.onEvent?.(event);
    const timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 500,
      commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
    };
    const concurrency = options.concurrency ?? 64;
    // BullMQ fetches while a shard holds fewer jobs than its concurrency, so a
    // closed gate sets it to 1: nothing more is fetched until jobs finish.
    this.gate = new HeldEventsGate(options.maxHeldEvents ?? 20_000, (open) => {
      for (const worker of this.workers) worker.concurrency = open ? concurrency : 1;
    });
    this.workers = options.shards.map((shard, index) => {
      const worker = new GatedWorker(
        options.queueName ?? INGEST_QUEUE_NAME,
        (
          job: Job<IngestBatchPayload, IngestJobOutcome, IngestJobName>,
          _token?: string,
          signal?: AbortSignal,
        ) =>
          options.handler.process(job.data, anySignal(this.closeController.signal, signal), {
            enqueuedAt: job.timestamp,
          }),
        {
          connection: workerRedisOptions(shard, timeouts),
          prefix: options.prefix,
          concurrency,
          autorun: false,
          lockDuration: options.lockDurationMs ?? 30_000,
          stalledInterval: options.stalledIntervalMs ?? 15_000,
          // A worker killed mid-job must not make the job fail for good: it is
          // redelivered, and the idempotent write makes that harmless.
          maxStalledCount: 1_000_000,
          // After a shard comes back, resume within a second (BullMQ waits 15 s
          // between attempts by default, which reads as a stalled pipeline).
          runRetryDelay: 1000,
        },
        this.gate,
      );
      worker.on('error', (error: Error) =>
        emit({ kind: 'error', shard: index, error: error.message }),
      );
      worker.on('completed', (job, outcome) =>
        emit({ kind: 'completed', shard: index, jobId: String(job.id), outcome }),
      );
      worker.on('failed', (job, error) =>
        emit({ kind: 'failed', shard: index, jobId: String(job?.id), error: error.message }),
      );
      return worker;
    });
  }

  /** Events of the jobs held now, on every shard. */
  get heldEvents(): number {
    return this.gate.events;
  }

  /** Starts consuming every shard; a shard that is down keeps reconnecting on its own. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.workers.forEach((worker, index) => void this.supervise(worker, index));
  }

  /**
   * Keeps one shard's consumer running: if BullMQ's run loop ends or throws
   * while we are not closing (e.g. its connection died for good), start it again.
   */
  private async supervise(
    worker: GatedWorker,
    shard: number,
  ): Promise<void> {
    while (!this.closeRequested) {
      try {
        await worker.run();
      } catch (error) {
        this.options.onEvent?.({ kind: 'error', shard, error: (error as Error).message });
      }
      if (this.closeRequested) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /**
   * Stops taking jobs, lets in-flight jobs finish for up to `closeGraceMs`, then
   * aborts the rest (their jobs go back to the queue through BullMQ's retry) and
   * closes every connection, each bounded so a hung shard cannot hold shutdown.
   */
  async close(): Promise<void> {
    this.closeRequested = true;
    const grace = this.options.closeGraceMs ?? 10_000;
    await Promise.all(
      this.workers.map(async (worker) => {
        try {
          await withTimeout(worker.close(), grace, 'worker close');
        } catch {
          this.closeController.abort();
          await withTimeout(worker.close(true), 2000, 'worker force close').catch(() => undefined);
        }
      }),
    );
  }
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => !!s));
}
