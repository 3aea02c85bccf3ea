import { JsonValue } from '@app/events';
import { Accumulator, Pacer, ValueBudget } from './accumulator';
import { selectPercentile } from './select-percentile';

/**
 * Exact percentile by linear interpolation between closest ranks (the
 * numpy/Excel PERCENTILE.INC definition): rank = p/100 · (n−1). So median is
 * percentile 50 and an even count averages the two middle values. Exactness
 * needs every sample, hence the shared memory budget. Samples live in a
 * growing Float64Array (8 bytes each); finish() selects the answer in time
 * slices instead of sorting them.
 */
export class PercentileAccumulator implements Accumulator {
  private values = new Float64Array(16);
  private n = 0;
  private answer: number | null | undefined;

  constructor(
    private readonly p: number,
    private readonly budget: ValueBudget,
  ) {}

  add(v: JsonValue | undefined): void {
    if (typeof v !== 'number') return;
    this.budget.take();
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = v;
    this.answer = undefined;
  }

  async finish(pacer: Pacer): Promise<void> {
    this.answer = await selectPercentile(this.values, this.n, this.p, pacer);
  }

  result(): JsonValue {
    if (this.answer === undefined)
      this.answer = percentileOf(this.values.subarray(0, this.n), this.p);
    return this.answer;
  }
}

/** The same answer by sorting: the definition selectPercentile is tested against. */
export function percentileOf(values: ArrayLike<number>, p: number): number | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  if (lo === hi) return sorted[lo];
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
