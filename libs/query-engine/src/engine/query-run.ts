import { ValueBudget } from '../analyses/accumulator';
import { CompileFilterOptions } from '../filters/compile-filters';
import { QueryLimits, resolveLimits } from '../query-limits';
import { queryTimeout } from '../query-errors';
import { TimeSlice } from './time-slice';

export interface ExecuteContext {
  projectId: string;
  /** The instant relative timeframes are resolved against (tests pin it). */
  now?: Date;
  /** Overrides limits.deadlineMs for this call. */
  deadlineMs?: number;
  /** Aborted when the client goes away; stops the scan. */
  signal?: AbortSignal;
  limits?: Partial<QueryLimits>;
  /** Told how many events the query read, once it is over (whatever its outcome): for metrics. */
  onScanned?: (events: number) => void;
}

/**
 * Per-execution state: the clock, the deadline, the memory budget, the time
 * slice (see time-slice.ts) and the counters reported in execution_metadata.
 * `close()` once the query is over, so its slice stops counting against the
 * others'.
 */
export class QueryRun {
  readonly projectId: string;
  readonly limits: QueryLimits;
  readonly now: number;
  readonly startedAt = Date.now();
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly budget: ValueBudget;
  readonly slice: TimeSlice;
  eventsScanned = 0;

  constructor(ctx: ExecuteContext, useDeadline = true) {
    this.projectId = ctx.projectId;
    this.limits = resolveLimits(ctx.limits);
    this.now = (ctx.now ?? new Date()).getTime();
    const budgetMs = ctx.deadlineMs ?? (useDeadline ? this.limits.deadlineMs : undefined);
    this.deadline = budgetMs === undefined ? Infinity : this.startedAt + budgetMs;
    this.signal = ctx.signal;
    this.budget = new ValueBudget(this.limits.maxValuesInMemory);
    this.slice = new TimeSlice(() => this.check());
  }

  /** The limits compileFilters enforces (regex length, `in` list length). */
  filterOptions(): CompileFilterOptions {
    return { maxRegexLength: this.limits.maxRegexLength, maxInValues: this.limits.maxInValues };
  }

  close(): void {
    this.slice.close();
  }

  /** Called between pages and at every pause of the time slice. */
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
