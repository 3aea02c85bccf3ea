import { EventSelection } from '@app/query-engine';

export type DeleteJobState = 'queued' | 'running' | 'done' | 'failed';

export interface DeleteJobProgress {
  /** Events read, over every run of the job (a resumed run reads the survivors again). */
  eventsScanned: number;
  /**
   * Events removed, over every run of the job; for a property job (which
   * removes no event) the events rewritten without the property.
   */
  eventsDeleted: number;
}

/**
 * A delete too large to run inside its request, persisted so it survives
 * restarts: a filtered event delete, or (with `property`) a property delete.
 */
export interface DeleteJob extends DeleteJobProgress {
  id: string;
  projectId: string;
  collection: string;
  /** The events the job applies to; a property job applies to all of them (no filter, all time). */
  selection: EventSelection;
  /**
   * Set: the job removes this property (a dotted path) from every event of the
   * collection instead of deleting events. Absent on event deletes, and on
   * jobs stored before property jobs existed.
   */
  property?: string;
  /**
   * Epoch ms at which a relative timeframe resolves, on every run: fixed when
   * the job is accepted so that a run resumed hours later deletes the same range.
   */
  resolveAt: number;
  state: DeleteJobState;
  /** ISO-8601. */
  createdAt: string;
  updatedAt: string;
  error?: string;
  /** The process holding the lease (absent when released or finished). */
  owner?: string;
  /** Epoch ms; 0 when nobody holds the job. */
  leaseUntil: number;
}

export interface DeleteJobCheckpoint {
  leaseUntil: number;
  now: number;
  /** Absent: a lease renewal only. */
  progress?: DeleteJobProgress;
  state?: 'running';
}

export interface DeleteJobOutcome {
  state: 'done' | 'failed';
  progress: DeleteJobProgress;
  error?: string;
  now: number;
}

/**
 * Background delete jobs and their leases. A job is worked on by the process
 * holding its lease (owner + expiry); an owner that stops renewing (killed,
 * hung, partitioned) loses the job to the next process that claims it after
 * the expiry. Every write after the claim is conditional on still being the
 * owner, so a process that lost its job can no longer touch it.
 *
 * Times are passed in (epoch ms) rather than read inside, so lease expiry is
 * testable without sleeping; processes compare wall clocks, which is fine as
 * long as their skew is small next to the lease.
 */
export interface DeleteJobStore {
  /** Stores a new job, leased to its creator (which runs it at once). */
  create(job: DeleteJob): Promise<void>;
  /** Scoped by project: another project's job id is "not found". */
  get(projectId: string, id: string): Promise<DeleteJob | null>;
  /**
   * Leases the oldest unfinished job whose lease has expired or was released,
   * skipping `busyProjects`. Atomic: when processes claim at once, exactly one
   * gets a given job.
   */
  claim(
    owner: string,
    now: number,
    leaseMs: number,
    busyProjects: string[],
  ): Promise<DeleteJob | null>;
  /**
   * Renews the lease and records progress. False when `owner` no longer holds
   * the job (another process took it over), and nothing is written. Safe to call
   * inside a UnitOfWork: on SQLite the checkpoint then commits with the batch it
   * counts.
   */
  checkpoint(id: string, owner: string, checkpoint: DeleteJobCheckpoint): Promise<boolean>;
  /** Final state and counts; false (nothing written) when not the owner. */
  finish(id: string, owner: string, outcome: DeleteJobOutcome): Promise<boolean>;
  /** Gives the lease up (shutdown), so another process resumes the job without waiting for the expiry. */
  release(id: string, owner: string, now: number): Promise<void>;
}
