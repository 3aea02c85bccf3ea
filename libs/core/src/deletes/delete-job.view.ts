import { Filter } from '@app/query-engine';
import { DeleteJob, DeleteJobState } from '@app/storage';

/**
 * What GET …/jobs/:id answers (snake_case, like the rest of the Keen surface).
 * A property delete (`kind: "delete_property"`) names its `property`, counts
 * the events it rewrote in `events_updated`, and deletes no event
 * (`events_deleted` 0, all events: no filters, no timeframe).
 */
export interface DeleteJobView {
  id: string;
  kind: 'delete' | 'delete_property';
  collection: string;
  property?: string;
  filters: Filter[];
  /** As the client sent it: a relative name or {start, end}; null for all time. */
  timeframe: string | { start: string; end: string } | null;
  timezone: string;
  state: DeleteJobState;
  events_scanned: number;
  events_deleted: number;
  events_updated?: number;
  created_at: string;
  updated_at: string;
  error?: string;
}

/** The 202 answer to a delete that became a job. */
export interface DeleteJobAccepted {
  job_id: string;
  status_url: string;
}

/** What a delete controller answers with: Fastify's reply, narrowed. */
export interface DeleteReply {
  status(code: number): DeleteReply;
  header(name: string, value: string): DeleteReply;
  send(body?: unknown): void;
}

/** 202 with the job's status URL, in the body and in Location. */
export function sendJobAccepted(reply: DeleteReply, projectId: string, job: DeleteJob): void {
  const accepted: DeleteJobAccepted = {
    job_id: job.id,
    status_url: jobStatusUrl(projectId, job.id),
  };
  reply.status(202).header('location', accepted.status_url).send(accepted);
}

export function jobStatusUrl(projectId: string, jobId: string): string {
  return `/3.0/projects/${encodeURIComponent(projectId)}/jobs/${encodeURIComponent(jobId)}`;
}

export function toDeleteJobView(job: DeleteJob): DeleteJobView {
  const view: DeleteJobView = {
    id: job.id,
    kind: job.property === undefined ? 'delete' : 'delete_property',
    collection: job.collection,
    ...(job.property === undefined ? {} : { property: job.property }),
    filters: job.selection.filters,
    timeframe: job.selection.timeframe?.raw ?? null,
    timezone: job.selection.timezone,
    state: job.state,
    events_scanned: job.eventsScanned,
    // A property job's count is of the events it rewrote (it deletes none).
    events_deleted: job.property === undefined ? job.eventsDeleted : 0,
    ...(job.property === undefined ? {} : { events_updated: job.eventsDeleted }),
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
  if (job.error !== undefined) view.error = job.error;
  return view;
}
