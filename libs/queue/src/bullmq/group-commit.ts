import { createHash } from 'node:crypto';
import { EventBatch } from '@app/events';
import { IngestBatchPayload, ProjectEvents } from '../ingest-job.types';

export interface GroupCommitOptions {
  /** How long the first batch of a group waits for others to join (ms). */
  windowMs: number;
  /** A group is committed as soon as it would exceed this many events. */
  maxEventsPerGroup: number;
  /** Overall time each enqueue() may take, counted from its call. */
  deadlineMs: number;
}

interface Waiter {
  batch: EventBatch;
  deadline: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Commits one merged payload; must settle by `deadline` (epoch ms). */
export type CommitGroup = (payload: IngestBatchPayload, deadline: number) => Promise<void>;

/**
 * Merges concurrent enqueue() calls into one job: the first call of a group
 * opens a window of `windowMs`; every call arriving inside it joins, unless the
 * group would pass `maxEventsPerGroup`, which commits it at once. All callers of
 * a group settle with the outcome of the one commit.
 */
export class GroupCommitter {
  private pending: Waiter[] = [];
  private pendingEvents = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly options: GroupCommitOptions,
    private readonly commit: CommitGroup,
  ) {}

  submit(batch: EventBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (
        this.pending.length > 0 &&
        this.pendingEvents + batch.events.length > this.options.maxEventsPerGroup
      ) {
        this.flush();
      }
      this.pending.push({ batch, deadline: Date.now() + this.options.deadlineMs, resolve, reject });
      this.pendingEvents += batch.events.length;
      if (this.pendingEvents >= this.options.maxEventsPerGroup) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  /** Commits the open group now (used by close()). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    this.pendingEvents = 0;
    const deadline = Math.min(...group.map((w) => w.deadline));
    const run = this.commit(mergeBatches(group.map((w) => w.batch)), deadline).then(
      () => group.forEach((w) => w.resolve()),
      (error) => group.forEach((w) => w.reject(error)),
    );
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  /** Flushes the open group and waits for every commit in flight. */
  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * BullMQ job ids may not contain ':' nor be integers; a batch id that is not
 * plainly safe is replaced by its hash, which is equally deterministic.
 */
export function jobIdFor(batchId: string): string {
  return SAFE_ID.test(batchId) ? `b_${batchId}` : `h_${sha256(batchId).slice(0, 40)}`;
}

/**
 * One payload for a group. A group of one keeps its batch id; a merged group
 * gets an id derived from its members, so retrying it on another shard reuses
 * the same job id.
 */
export function mergeBatches(batches: EventBatch[]): IngestBatchPayload {
  const byProject = new Map<string, ProjectEvents>();
  for (const batch of batches) {
    let entry = byProject.get(batch.projectId);
    if (!entry)
      byProject.set(batch.projectId, (entry = { projectId: batch.projectId, events: [] }));
    entry.events.push(...batch.events);
  }
  const sources = batches.map((b) => b.batchId);
  const batchId =
    sources.length === 1 ? sources[0] : `m-${sha256([...sources].sort().join('\n')).slice(0, 40)}`;
  return { batchId, sources, projects: [...byProject.values()] };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
