import { CollectionEvent, namedByUniquenessToken } from '@app/events';
import { EventPersister, PersistOutcome, RejectedEventsError } from '@app/storage';
import { workerWriteEvents } from '../metrics';

/** A persister that can write several jobs' batches as one (MarkedEventPersister). */
export interface BatchPersister extends Pick<EventPersister, 'persist'> {
  /** Each batch's outcome, or the error its own job fails with (its refused events). */
  persistEach?(
    projectId: string,
    batches: CollectionEvent[][],
  ): Promise<(PersistOutcome | RejectedEventsError)[]>;
}

export interface CoalescingOptions {
  /** Events in one combined write (WORKER_BATCH_MAX_EVENTS); 0 turns coalescing off. */
  maxEvents: number;
  /** Combined writes of one project in flight at once (default 2: one writing, one filling). */
  maxInFlight?: number;
  /**
   * Jobs the store must write alone, never combined with others (Cassandra:
   * jobs carrying uniqueness-token copies, set by apps/worker/src/main.ts).
   */
  writeAlone?: (events: CollectionEvent[]) => boolean;
}

interface Waiting {
  events: CollectionEvent[];
  resolve(outcome: PersistOutcome): void;
  reject(error: unknown): void;
}

/**
 * The worker's batching across jobs: the jobs it holds at once (BullMQ's
 * concurrency on every shard) mostly carry events of the same projects, and
 * each written alone pays the whole write protocol (a marker, an insert, a
 * counter update per collection, clearing the marker: several round trips,
 * each a durable write). Here a project's writes go through at most
 * `maxInFlight` combined writes at a time, and the jobs that arrive while
 * those run are written together by the next one (group commit), up to
 * `maxEvents` events. An idle worker writes a job at once, alone.
 *
 * Refused events fail only their own job (the others of the write are stored
 * and counted). A combined write that fails is retried batch by batch, each
 * once, so every job gets its own outcome: its own "counters pending" wait,
 * its own store error. That retry is a redelivery
 * of events the combined attempt may have stored, which the write protocol
 * makes harmless (docs/queue.md).
 */
export class CoalescingPersister implements Pick<EventPersister, 'persist'> {
  private readonly projects = new Map<string, { waiting: Waiting[]; inFlight: number }>();
  private readonly maxInFlight: number;

  constructor(
    private readonly inner: BatchPersister,
    private readonly options: CoalescingOptions,
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
  }

  persist(projectId: string, events: CollectionEvent[]): Promise<PersistOutcome> {
    const persistEach = this.inner.persistEach;
    if (
      !persistEach ||
      this.options.maxEvents <= 0 ||
      events.length >= this.options.maxEvents ||
      this.options.writeAlone?.(events)
    ) {
      workerWriteEvents.observe(events.length);
      return this.inner.persist(projectId, events);
    }
    let project = this.projects.get(projectId);
    if (!project) this.projects.set(projectId, (project = { waiting: [], inFlight: 0 }));
    const done = new Promise<PersistOutcome>((resolve, reject) =>
      project.waiting.push({ events, resolve, reject }),
    );
    this.drain(projectId);
    return done;
  }

  /** Starts combined writes while the project has waiting jobs and room in flight. */
  private drain(projectId: string): void {
    const project = this.projects.get(projectId);
    if (!project) return;
    while (project.waiting.length > 0 && project.inFlight < this.maxInFlight) {
      const taken: Waiting[] = [];
      let size = 0;
      while (project.waiting.length > 0) {
        const next = project.waiting[0];
        if (taken.length > 0 && size + next.events.length > this.options.maxEvents) break;
        taken.push(project.waiting.shift()!);
        size += next.events.length;
      }
      workerWriteEvents.observe(size);
      project.inFlight++;
      void this.write(projectId, taken).finally(() => {
        project.inFlight--;
        if (project.inFlight === 0 && project.waiting.length === 0) this.projects.delete(projectId);
        else this.drain(projectId);
      });
    }
  }

  private async write(projectId: string, taken: Waiting[]): Promise<void> {
    if (taken.length === 1) {
      const [one] = taken;
      await this.inner.persist(projectId, one.events).then(one.resolve, one.reject);
      return;
    }
    try {
      const outcomes = await this.inner.persistEach!(
        projectId,
        taken.map((w) => w.events),
      );
      taken.forEach((w, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof RejectedEventsError) w.reject(outcome);
        else w.resolve(outcome);
      });
    } catch {
      // Each job on its own, so each gets its own outcome or error.
      await Promise.all(
        taken.map((w) => this.inner.persist(projectId, w.events).then(w.resolve, w.reject)),
      );
    }
  }
}

/**
 * Whether a job carries events named by a uniqueness token: on Cassandra such a
 * job is written alone (docs/queue.md, "Batching across jobs").
 */
export function carriesUniquenessTokens(events: CollectionEvent[]): boolean {
  return events.some((e) => namedByUniquenessToken(e.event));
}
