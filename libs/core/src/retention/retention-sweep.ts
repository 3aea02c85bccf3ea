import { createHash } from 'node:crypto';
import { TallyError } from '@app/events';
import { EventSelection, parseEventSelection } from '@app/query-engine';
import { DeleteJob, Stores } from '@app/storage';
import { isLargeDelete } from '../deletes/delete-size';
import { Log } from '../log.port';

export const DAY_MS = 86_400_000;
/** A TTL above this (about 100 years) is a typo, not a policy. */
export const MAX_RETENTION_DAYS = 36_500;

/** What one sweep queued, per collection. */
export interface RetentionJobRef {
  projectId: string;
  collection: string;
  jobId: string;
  /** Events with keen.timestamp before this instant (epoch ms) are deleted. */
  cutoff: number;
}

export function assertRetentionDays(days: unknown): number {
  if (
    typeof days !== 'number' ||
    !Number.isInteger(days) ||
    days < 1 ||
    days > MAX_RETENTION_DAYS
  ) {
    throw new TallyError(
      'invalid',
      'InvalidParameterError',
      `"days" must be a whole number of days from 1 to ${MAX_RETENTION_DAYS}.`,
    );
  }
  return days;
}

/**
 * The cutoff of a sweep: the TTL rounded down to a UTC day. Every query
 * process sweeping on the same day computes the same cutoff, hence the same
 * job id: however many sweep, and however often, a collection gets one job a
 * day, and the day's job can always be found again (its progress). An event
 * is kept at least the TTL and deleted within a day (plus a sweep interval)
 * after it.
 */
export function retentionCutoff(now: number, days: number): number {
  return Math.floor((now - days * DAY_MS) / DAY_MS) * DAY_MS;
}

/** A delete job id (24 hex, like a request's) derived from what the job deletes. */
export function retentionJobId(projectId: string, collection: string, cutoff: number): string {
  return createHash('sha256')
    .update(`retention\n${projectId}\n${collection}\n${cutoff}`)
    .digest('hex')
    .slice(0, 24);
}

/** Every event of the collection whose keen.timestamp is before `cutoff`. */
export function retentionSelection(cutoff: number): EventSelection {
  return parseEventSelection({
    timeframe: { start: '0001-01-01T00:00:00.000Z', end: new Date(cutoff).toISOString() },
  });
}

/**
 * Turns each project's retention into delete jobs. It deletes nothing
 * itself: a job goes into the delete-job store unleased, and the delete-job
 * machinery of the query processes (DeleteJobsService) claims and runs it
 * like any other background delete — one owner at a time through its lease,
 * the per-project delete limits, resumed after a crash, schema counters
 * decremented with each batch — and its progress is the job's status
 * (GET …/jobs/:id, and GET …/retention lists the latest ones).
 */
export class RetentionSweep {
  constructor(
    private readonly stores: Pick<Stores, 'metadata' | 'events' | 'deleteJobs'>,
    private readonly log: Log,
  ) {}

  /** One pass over every project with a retention; returns the jobs it queued. */
  async run(now = Date.now(), signal?: AbortSignal): Promise<RetentionJobRef[]> {
    const queued: RetentionJobRef[] = [];
    for (const { projectId, days } of await this.stores.metadata.listRetentions()) {
      for (const collection of await this.collections(projectId)) {
        if (signal?.aborted) return queued;
        const ref = await this.queue(projectId, collection, retentionCutoff(now, days), now);
        if (ref) queued.push(ref);
      }
    }
    return queued;
  }

  /** Today's retention jobs, else yesterday's (today's sweep may have found nothing yet): the retention's progress. */
  async latestJobs(projectId: string, days: number, now = Date.now()): Promise<DeleteJob[]> {
    const collections = await this.collections(projectId);
    for (const back of [0, 1]) {
      const cutoff = retentionCutoff(now, days) - back * DAY_MS;
      const jobs: DeleteJob[] = [];
      for (const collection of collections) {
        const job = await this.stores.deleteJobs.get(
          projectId,
          retentionJobId(projectId, collection, cutoff),
        );
        if (job) jobs.push(job);
      }
      if (jobs.length > 0) return jobs;
    }
    return [];
  }

  private async collections(projectId: string): Promise<string[]> {
    const schema = await this.stores.metadata.getSchema(projectId);
    return [...new Set(schema.map((c) => c.collection))].sort();
  }

  private async queue(
    projectId: string,
    collection: string,
    cutoff: number,
    now: number,
  ): Promise<RetentionJobRef | null> {
    const jobId = retentionJobId(projectId, collection, cutoff);
    const jobs = this.stores.deleteJobs;
    if (await jobs.get(projectId, jobId)) return null; // another process queued it this interval
    const selection = retentionSelection(cutoff);
    // Nothing past the TTL: no job (a job per collection per interval would pile up for nothing).
    if (
      !(await isLargeDelete(this.stores.events, projectId, collection, selection, 0, new Date(now)))
    )
      return null;
    const at = new Date(now).toISOString();
    try {
      await jobs.create({
        id: jobId,
        projectId,
        collection,
        selection,
        resolveAt: now,
        state: 'queued',
        eventsScanned: 0,
        eventsDeleted: 0,
        createdAt: at,
        updatedAt: at,
        // Unleased: the next claim of any query process runs it.
        leaseUntil: 0,
      });
    } catch (error) {
      // Two processes raced on the same interval: the id is taken, the job exists once.
      if (await jobs.get(projectId, jobId)) return null;
      throw error;
    }
    this.log.log(
      { project: projectId, collection, job_id: jobId, cutoff: new Date(cutoff).toISOString() },
      'retention: delete job queued for events past the TTL',
    );
    return { projectId, collection, jobId, cutoff };
  }
}
