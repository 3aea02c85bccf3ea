import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Log } from '../log.port';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import { EventSelection } from '@app/query-engine';
import { DeleteJob, Stores } from '@app/storage';
import { DeleteJobRunner } from './run-delete-job';
import { isLargeDelete } from './delete-size';
import { DeleteJobView, toDeleteJobView } from './delete-job.view';
import { DeleteSlot, ProjectDeleteLimits } from './project-delete-limits';
import { deleteJobsEnded } from '../metrics';

/** How long shutdown waits for running jobs to reach their next batch boundary. */
const STOP_GRACE_MS = 10_000;

/**
 * Background deletes on this query process: starts the jobs its requests
 * create, resumes unfinished ones (after a restart, or a dead process's once
 * their lease expired) by claiming them on a timer, and on shutdown stops its
 * jobs at a batch boundary and releases their leases so another process
 * resumes them at once.
 */
/** What a delete acts on; with `property`, it removes that property instead of events. */
export interface DeleteTarget {
  projectId: string;
  collection: string;
  selection: EventSelection;
  property?: string;
}

export class DeleteJobsService {
  /** Unique per process start, so a restarted process never mistakes its predecessor's leases for its own. */
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly runner: DeleteJobRunner;
  private readonly running = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private poll: NodeJS.Timeout | undefined;
  private claiming = false;

  constructor(
    private readonly stores: Stores,
    private readonly config: TallyConfig,
    private readonly limits: ProjectDeleteLimits,
    private readonly logger: Log,
  ) {
    const d = config.deletes;
    this.runner = new DeleteJobRunner(
      {
        events: stores.events,
        metadata: stores.metadata,
        unitOfWork: stores.unitOfWork,
        jobs: stores.deleteJobs,
        writes: stores.writes,
        datasets: stores.datasets,
      },
      {
        owner: this.owner,
        leaseMs: d.jobLeaseMs,
        batchSize: d.jobBatchSize,
        batchPauseMs: d.jobBatchPauseMs,
        onInterrupted: (job, error) =>
          this.logger.warn(
            { err: error, job_id: job.id, project: job.projectId },
            'delete job interrupted by an unavailable store; resumed by the next claim',
          ),
      },
    );
  }

  /**
   * The admission every delete request goes through (event and property
   * deletes alike): one per-project slot and rate token (429 beyond), then
   * `runNow` in the request, or, when the selection reads more than
   * DELETE_JOB_THRESHOLD events, a background job that keeps the slot until it
   * ends. Callers validate their input first, so bad input costs no token.
   */
  async inRequestOrAsJob<P>(
    target: DeleteTarget,
    runNow: (now: Date) => Promise<P>,
  ): Promise<{ kind: 'done'; progress: P } | { kind: 'job'; job: DeleteJob }> {
    const slot = this.limits.admit(target.projectId);
    let handedToJob = false;
    try {
      const now = new Date();
      const large = await isLargeDelete(
        this.stores.events,
        target.projectId,
        target.collection,
        target.selection,
        this.config.deletes.jobThreshold,
        now,
      );
      if (large) {
        const job = await this.start(target, now, slot);
        handedToJob = true;
        return { kind: 'job', job };
      }
      return { kind: 'done', progress: await runNow(now) };
    } finally {
      if (!handedToJob) slot.release();
    }
  }

  /**
   * Persists the delete as a job leased to this process, and runs it holding
   * `slot` (released at its end). With `property`, the job removes that
   * property from every event of `selection` (all of the collection's).
   */
  async start(target: DeleteTarget, now: Date, slot: DeleteSlot): Promise<DeleteJob> {
    const at = now.getTime();
    const job: DeleteJob = {
      id: randomBytes(12).toString('hex'),
      projectId: target.projectId,
      collection: target.collection,
      selection: target.selection,
      ...(target.property !== undefined ? { property: target.property } : {}),
      resolveAt: at,
      state: 'queued',
      eventsScanned: 0,
      eventsDeleted: 0,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      owner: this.owner,
      leaseUntil: at + this.config.deletes.jobLeaseMs,
    };
    await this.stores.deleteJobs.create(job);
    this.launch(job, slot);
    return job;
  }

  async status(projectId: string, jobId: string): Promise<DeleteJobView> {
    const job = await this.stores.deleteJobs.get(projectId, jobId);
    if (!job) {
      throw new TallyError(
        'not_found',
        'ResourceNotFoundError',
        `Project "${projectId}" has no job "${jobId}".`,
      );
    }
    return toDeleteJobView(job);
  }

  onApplicationBootstrap(): void {
    // Half a lease: a dead owner's job is resumed within 1.5 leases of its last renewal.
    this.poll = setInterval(
      () => void this.claimAvailable(),
      Math.max(50, this.config.deletes.jobLeaseMs / 2),
    );
    this.poll.unref();
    void this.claimAvailable();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.poll);
    this.stopping.abort(new Error('shutting down'));
    await Promise.race([
      Promise.allSettled(this.running.values()),
      sleep(STOP_GRACE_MS, undefined, { ref: false }),
    ]);
  }

  private async claimAvailable(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      while (!this.stopping.signal.aborted) {
        const jobs = this.stores.deleteJobs;
        const job = await jobs.claim(
          this.owner,
          Date.now(),
          this.config.deletes.jobLeaseMs,
          this.limits.busyProjects(),
        );
        if (!job) return;
        // Ours already (its renewals lapsed but nobody took it): the claim just renewed it.
        if (this.running.has(job.id)) continue;
        // A request took the project's last slot while the claim was under way.
        const slot = this.limits.tryAcquire(job.projectId);
        if (!slot) {
          await jobs.release(job.id, this.owner, Date.now());
          return;
        }
        this.logger.log(
          { job_id: job.id, project: job.projectId, collection: job.collection },
          'resuming delete job',
        );
        this.launch(job, slot);
      }
    } catch (error) {
      // The store is unreachable: the next tick tries again.
      this.logger.warn({ err: error }, 'claiming delete jobs failed');
    } finally {
      this.claiming = false;
    }
  }

  private launch(job: DeleteJob, slot: DeleteSlot): void {
    const done = this.runner
      .run(job, this.stopping.signal)
      .then(
        (result) => {
          deleteJobsEnded.inc({ outcome: result });
          this.logger.log({ job_id: job.id, project: job.projectId, result }, 'delete job ended');
        },
        // A store error while recording the outcome: the lease lapses and the job is resumed.
        (error: unknown) => {
          deleteJobsEnded.inc({ outcome: 'error' });
          this.logger.error({ err: error, job_id: job.id }, 'delete job run failed');
        },
      )
      .finally(() => {
        slot.release();
        this.running.delete(job.id);
      });
    this.running.set(job.id, done);
  }
}
