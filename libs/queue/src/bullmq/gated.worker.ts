import { Job, JobJson, Processor, Worker, WorkerOptions } from 'bullmq';
import { IngestBatchPayload, IngestJobName } from '../ingest-job.types';
import { IngestJobOutcome } from '../ingest-job.handler';
import { HeldEventsGate } from './held-events.gate';

type IngestJob = Job<IngestBatchPayload, IngestJobOutcome, IngestJobName>;

/**
 * A BullMQ worker whose jobs count against a HeldEventsGate from the moment
 * they are fetched. BullMQ fetches jobs back to back while a shard holds
 * fewer than its concurrency, before any of them reaches the processor, so
 * the count has to start at the fetch: every fetched job, from the main
 * loop or handed back with a finished one, is built by nextJobFromJobData.
 * The processor frees it when it returns or throws.
 */
export class GatedWorker extends Worker<IngestBatchPayload, IngestJobOutcome, IngestJobName> {
  constructor(
    name: string,
    processor: Processor<IngestBatchPayload, IngestJobOutcome, IngestJobName>,
    options: WorkerOptions,
    private readonly gate: HeldEventsGate,
  ) {
    super(
      name,
      async (job: IngestJob, token?: string, signal?: AbortSignal) => {
        try {
          return await processor(job, token, signal);
        } finally {
          gate.free(job);
        }
      },
      options,
    );
  }

  protected override async nextJobFromJobData(
    jobData?: JobJson,
    jobId?: string,
    token?: string,
  ): Promise<IngestJob> {
    const job = await super.nextJobFromJobData(jobData, jobId, token);
    if (job) this.gate.hold(job, eventsOf(job.data));
    return job;
  }
}

/** Events a job carries; a malformed payload counts as none (the processor dead-letters it). */
export function eventsOf(payload: IngestBatchPayload | undefined): number {
  let events = 0;
  const projects = Array.isArray(payload?.projects) ? payload.projects : [];
  for (const project of projects) events += Array.isArray(project?.events) ? project.events.length : 0;
  return events;
}
