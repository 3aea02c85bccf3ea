/**
 * Bounds what the worker holds by events, not by jobs. The worker's combined
 * writes are made of the jobs it holds at once (docs/queue.md, "Batching
 * across jobs"), so it should hold many when jobs are small (single events
 * travel a few per job) and few when they are large (a job carries up to
 * MAX_BATCH_EVENTS events). A job count alone cannot do both: the count that
 * fills a write with small jobs would hold hundreds of megabytes of large ones.
 *
 * Every job fetched adds its events; while the total is at or over the
 * budget the gate is closed and the consumer fetches nothing more (the job
 * that closed it is still processed, so one job larger than the whole budget
 * is taken alone). It opens again when what is held falls under the budget.
 * Each shard may have one fetch under way when the gate closes, so the most
 * ever held is the budget plus one job per shard.
 */
export class HeldEventsGate {
  private held = 0;
  private readonly byJob = new WeakMap<object, number>();

  /**
   * @param maxEvents the budget (WORKER_MAX_HELD_EVENTS)
   * @param onChange called with the new state each time the gate opens or closes
   */
  constructor(
    private readonly maxEvents: number,
    private readonly onChange: (open: boolean) => void,
  ) {}

  get open(): boolean {
    return this.held < this.maxEvents;
  }

  /** Events held now. */
  get events(): number {
    return this.held;
  }

  /** A job fetched: its events are held until `free(job)`. Holding a job twice counts it once. */
  hold(job: object, events: number): void {
    if (this.byJob.has(job)) return;
    this.byJob.set(job, events);
    this.change(events);
  }

  /** A job finished (or given up): its events are no longer held. Idempotent. */
  free(job: object): void {
    const events = this.byJob.get(job);
    if (events === undefined) return;
    this.byJob.delete(job);
    this.change(-events);
  }

  private change(delta: number): void {
    const was = this.open;
    this.held += delta;
    if (this.open !== was) this.onChange(this.open);
  }
}
