import { CollectionEvent } from '@app/events';

/** The BullMQ queue every shard hosts; workers consume the same name on each shard. */
export const INGEST_QUEUE_NAME = 'tally-ingest';

/** Events of one project inside a merged job. */
export interface ProjectEvents {
  projectId: string;
  events: CollectionEvent[];
}

/**
 * Payload of a group-committed job: the batches merged within one commit window,
 * grouped by project. `batchId` is also the job id, so the same merged batch
 * retried on another shard is the same job id everywhere.
 */
export interface IngestBatchPayload {
  batchId: string;
  /** Batch ids of the enqueue() calls merged into this job (diagnostics). */
  sources: string[];
  projects: ProjectEvents[];
}

/** Typed job name → payload map: the only jobs producers and workers exchange. */
export interface IngestJobs {
  'ingest-batch': IngestBatchPayload;
}
export type IngestJobName = keyof IngestJobs;
export const INGEST_BATCH_JOB: IngestJobName = 'ingest-batch';
