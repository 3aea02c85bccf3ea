import { JsonValue } from '@app/events';
import { overLimit } from '../query-errors';

/**
 * Folds the target property of each matching event into one result. One
 * instance per (interval bucket, group, analysis). `add` receives `undefined`
 * for events lacking the property.
 */
export interface Accumulator {
  add(value: JsonValue | undefined): void;
  result(): JsonValue;
  /**
   * Heavy final work (sorting or selecting among up to maxValuesInMemory
   * values) done ahead of result() in slices, so it never holds the event
   * loop; result() then answers from what finish() computed.
   */
  finish?(pacer: Pacer): Promise<void>;
}

/**
 * The engine's clock as long loops see it: `due()` when the current slice is
 * used up, `pause()` to give the event loop a turn (it also enforces the
 * query's deadline and cancellation).
 */
export interface Pacer {
  due(): boolean;
  pause(): Promise<void>;
}

export type AccumulatorFactory = () => Accumulator;

/**
 * Shared memory budget across a query: every value an accumulator keeps
 * (a unique value, a median sample, a funnel actor) takes one unit, so one
 * query cannot exhaust the process however its cells are spread.
 */
export class ValueBudget {
  private used = 0;
  constructor(private readonly max: number) {}

  take(): void {
    if (++this.used > this.max) {
      throw overLimit(
        `query keeps more than the limit of ${this.max} values in memory (maxValuesInMemory); ` +
          'narrow the timeframe or filters',
      );
    }
  }
}
