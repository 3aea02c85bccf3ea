import { ValueBudget } from '../analyses/accumulator';
import { QueryLimits, resolveLimits } from '../query-limits';
import { queryTimeout } from '../query-errors';

export interface ExecuteContext {
  projectId: string;
  /** The instant relative timeframes are resolved against (tests pin it). */
  now?: Date;
  /** Overrides limits.deadlineMs for this call. */
  deadlineMs?: number;
  /** Aborted when the client goes away; stops the scan. */
  signal?: AbortSignal;
  limits?: Partial<QueryLimits>;
}

/**
 * Per-execution state: the clock, the deadline, the memory budget and the
 * counters reported in execution_metadata.
 */
export class QueryRun {
  readonly projectId: string;
  readonly limits: QueryLimits;
  readonly now: number;
  readonly startedAt = Date.now();
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly budget: ValueBudget;
  eventsScanned = 0;

  constructor(ctx: ExecuteContext, useDeadline = true) {
    this.projectId = ctx.projectId;
    this.limits = resolveLimits(ctx.limits);
    this.now = (ctx.now ?? new Date()).getTime();
    const budgetMs = ctx.deadlineMs ?? (useDeadline ? this.limits.deadlineMs : undefined);
    this.deadline = budgetMs === undefined ? Infinity : this.startedAt + budgetMs;
    this.signal = ctx.signal;
    this.budget = new ValueBudget(this.limits.maxValuesInMemory);
  }

  /** Called between pages (and every few thousand events) while streaming. */
  check(): void {
    if (this.signal?.aborted) throw queryTimeout('query was cancelled before it finished');
    if (Date.now() > this.deadline) {
      throw queryTimeout(
        `query exceeded its time limit of ${this.deadline - this.startedAt} ms; ` +
          'narrow the timeframe or add filters',
      );
    }
  }
}
