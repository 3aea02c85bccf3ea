import { setTimeout as sleep } from 'node:timers/promises';
import { StoredEvent, TallyError } from '@app/events';
import { EventDeleter } from './delete-events';
import { PropertyDeleter } from './delete-property';
import {
  isRetryableStoreError,
  EventStore,
  MetadataStore,
  UnitOfWork,
  DeleteJob,
  DeleteJobProgress,
  DeleteJobStore,
  WritePath,
  DatasetStore,
} from '@app/storage';

export interface DeleteJobRunnerOptions {
  /** This process's lease owner id (unique per process). */
  owner: string;
  leaseMs: number;
  batchSize: number;
  /** Extra pause before each batch (ms); every batch also yields to the event loop. */
  batchPauseMs: number;
  clock?: () => number;
  /** Told why a run was interrupted (the store's error), for the operator's log. */
  onInterrupted?: (job: DeleteJob, error: unknown) => void;
}

/**
 * How a run ended: finished (done/failed), stopped by the caller (lease
 * released), interrupted by an unavailable store (lease released, resumed by a
 * later claim), or lost to another process.
 */
export type DeleteJobRunResult = 'done' | 'failed' | 'stopped' | 'interrupted' | 'lost';

export interface DeleteJobRunnerStores {
  events: EventStore;
  metadata: MetadataStore;
  unitOfWork: UnitOfWork;
  jobs: DeleteJobStore;
  /** How writes keep counters exact: deletes hold events whose counters are pending. */
  writes: WritePath;
  /** The dataset change log the deleted or rewritten events' time ranges go to. */
  datasets?: Pick<DatasetStore, 'recordChanges'>;
}

/**
 * Runs a delete job this process holds the lease of, to its end: an event
 * delete (EventDeleter) or, for a job with a `property`, a property delete
 * (PropertyDeleter) — the same leases, checkpoints, pacing and resumption.
 *
 * Resuming is re-running: the job's filtered delete is idempotent (a re-run
 * finds only the survivors), so a run started after a crash simply deletes
 * what remains, with relative timeframes resolved at the job's `resolveAt`.
 * The counters stay exact across crashes because each batch decrements them by
 * what that batch's store call actually removed (EventDeleter), and an event
 * removed before the crash is not found again. The job's own counts are
 * checkpointed inside each batch's unit of work: on SQLite the rows, their
 * counter decrements and the new events_deleted commit together, so the counts
 * are exact after a kill -9 too. A property job is idempotent the same way: a
 * re-run rewrites only the events that still carry the property, and each
 * batch decrements the counters by what its rewrites removed.
 *
 * Between batches the run pauses (at least one event-loop turn) before it
 * opens the next unit of work, so a job never holds SQLite's write lock or
 * the event loop across batches, and ingestion in the same process interleaves.
 */
export class DeleteJobRunner {
  private readonly clock: () => number;

  constructor(
    private readonly stores: DeleteJobRunnerStores,
    private readonly options: DeleteJobRunnerOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  async run(job: DeleteJob, stop?: AbortSignal): Promise<DeleteJobRunResult> {
    const { jobs } = this.stores;
    const { owner, leaseMs } = this.options;
    const run = { scanned: 0, changed: 0 };
    const progress = (): DeleteJobProgress => ({
      eventsScanned: job.eventsScanned + run.scanned,
      eventsDeleted: job.eventsDeleted + run.changed,
    });
    const abort = new AbortController();
    let lost = false;
    const checkpoint = async (withProgress: boolean) => {
      const now = this.clock();
      const held = await jobs.checkpoint(job.id, owner, {
        now,
        leaseUntil: now + leaseMs,
        state: 'running',
        ...(withProgress ? { progress: progress() } : {}),
      });
      if (!held) {
        lost = true;
        abort.abort(new Error(`delete job ${job.id} was taken over by another process`));
      }
    };
    const onStop = () => abort.abort(stop?.reason);
    stop?.addEventListener('abort', onStop);
    // Renewed well before expiry even when a long stretch of the scan finds
    // nothing to delete (no batch, hence no checkpoint, for a while).
    const renew = setInterval(
      () => void checkpoint(false).catch(() => undefined),
      Math.max(50, leaseMs / 3),
    );
    renew.unref();
    try {
      await checkpoint(false);
      if (lost) return 'lost';
      await this.work(job, run, abort.signal, () => checkpoint(true));
      return (await jobs.finish(job.id, owner, {
        state: 'done',
        progress: progress(),
        now: this.clock(),
      }))
        ? 'done'
        : 'lost';
    } catch (error) {
      if (lost) return 'lost';
      if (abort.signal.aborted) {
        await jobs.release(job.id, owner, this.clock());
        return 'stopped';
      }
      // A store that is down, overloaded or timing out says nothing about the
      // delete itself: the job keeps its checkpoint and is resumed by the next
      // claim (a poll tick later, on whichever process gets it), as the worker
      // keeps an ingest job queued while its store is away. If even the release
      // fails, the lease lapses and the job is resumed all the same.
      if (isRetryableStoreError(error)) {
        this.options.onInterrupted?.(job, error);
        await jobs.release(job.id, owner, this.clock());
        return 'interrupted';
      }
      const message = error instanceof Error ? error.message : String(error);
      await jobs.finish(job.id, owner, {
        state: 'failed',
        progress: progress(),
        error: message,
        now: this.clock(),
      });
      return 'failed';
    } finally {
      clearInterval(renew);
      stop?.removeEventListener('abort', onStop);
    }
  }

  /** The job's delete, over the counting event store and the paced unit of work. */
  private async work(
    job: DeleteJob,
    run: { scanned: number; changed: number },
    signal: AbortSignal,
    checkpoint: () => Promise<void>,
  ): Promise<void> {
    const events = this.countingEvents(run);
    const unitOfWork = this.pacedUnitOfWork(signal, checkpoint);
    const batchSize = this.options.batchSize;
    if (job.property === undefined) {
      const deleter = new EventDeleter(
        events,
        this.stores.metadata,
        unitOfWork,
        this.stores.writes,
        this.stores.datasets,
      );
      await deleter.delete(job.projectId, job.collection, job.selection, {
        batchSize,
        signal,
        now: new Date(job.resolveAt),
      });
      return;
    }
    const deleter = new PropertyDeleter(
      events,
      this.stores.metadata,
      unitOfWork,
      this.stores.writes,
      this.stores.datasets,
    );
    const done = await deleter.delete(job.projectId, job.collection, job.property, {
      batchSize,
      signal,
    });
    if (done.skipped > 0) {
      // Events rewritten under the job (or whose counters were still settling)
      // kept the property through the retries: not done yet. Unavailable, so
      // the run is interrupted and a later claim re-runs it, which finds them.
      throw new TallyError(
        'unavailable',
        'PropertyDeleteIncompleteError',
        `${done.skipped} event(s) changed during the property delete and still carry "${job.property}".`,
      );
    }
  }

  /** The event store, counting what the job reads and changes (removed or rewritten; no I/O of its own). */
  private countingEvents(run: { scanned: number; changed: number }): EventStore {
    const events = this.stores.events;
    async function* counted(pages: AsyncIterable<StoredEvent[]>): AsyncIterable<StoredEvent[]> {
      for await (const page of pages) {
        run.scanned += page.length;
        yield page;
      }
    }
    // A proxy rather than a hand-written delegate, so methods added to the port
    // later are passed through untouched.
    return new Proxy(events, {
      get(target, name) {
        if (name === 'scan')
          return (...args: Parameters<EventStore['scan']>) => counted(target.scan(...args));
        if (name === 'deleteByIds') {
          return async (...args: Parameters<EventStore['deleteByIds']>) => {
            const gone = await target.deleteByIds(...args);
            run.changed += gone.length;
            return gone;
          };
        }
        if (name === 'replaceBodies') {
          return async (...args: Parameters<EventStore['replaceBodies']>) => {
            const replaced = await target.replaceBodies(...args);
            run.changed += replaced.length;
            return replaced;
          };
        }
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /**
   * Each batch: wait (outside any transaction), then the batch and its
   * checkpoint in one unit of work. On MongoDB the checkpoint comes after the
   * counter update, so it never widens the window between removing events and
   * decrementing their counters.
   */
  private pacedUnitOfWork(signal: AbortSignal, checkpoint: () => Promise<void>): UnitOfWork {
    const { unitOfWork } = this.stores;
    const pauseMs = this.options.batchPauseMs;
    return {
      run: async <T>(work: () => Promise<T>): Promise<T> => {
        await (pauseMs > 0 ? sleep(pauseMs) : new Promise((resolve) => setImmediate(resolve)));
        signal.throwIfAborted();
        return unitOfWork.run(async () => {
          const result = await work();
          await checkpoint();
          return result;
        });
      },
    };
  }
}
