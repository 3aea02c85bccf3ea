import { JsonValue } from '@app/events';
import { Accumulator, ValueBudget } from './accumulator';

/**
 * Exact percentile by linear interpolation between closest ranks (the
 * numpy/Excel PERCENTILE.INC definition): rank = p/100 · (n−1). So median is
 * percentile 50 and an even count averages the two middle values. Exactness
 * needs every sample, hence the shared memory budget.
 */
export class PercentileAccumulator implements Accumulator {
  private readonly values: number[] = [];
  constructor(
    private readonly p: number,
    private readonly budget: ValueBudget,
  ) {}

  add(v: JsonValue | undefined): void {
    if (typeof v !== 'number') return;
    this.budget.take();
    this.values.push(v);
  }

  result(): JsonValue {
    return percentileOf(this.values, this.p);
  }
}

export function percentileOf(values: number[], p: number): number | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  if (lo === hi) return sorted[lo];
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
