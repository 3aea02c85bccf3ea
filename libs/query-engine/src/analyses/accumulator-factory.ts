import { JsonValue } from '@app/events';
import { MetricSpec } from '../query.types';
import { Accumulator, AccumulatorFactory, ValueBudget } from './accumulator';
import {
  AverageAccumulator,
  MaximumAccumulator,
  MinimumAccumulator,
  StandardDeviationAccumulator,
  SumAccumulator,
} from './numeric';
import { PercentileAccumulator } from './percentile';
import { CountUniqueAccumulator, SelectUniqueAccumulator } from './unique';

export class CountAccumulator implements Accumulator {
  n = 0;
  add(): void {
    this.n++;
  }
  result(): JsonValue {
    return this.n;
  }
}

export function accumulatorFactory(spec: MetricSpec, budget: ValueBudget): AccumulatorFactory {
  switch (spec.analysis_type) {
    case 'count':
      return () => new CountAccumulator();
    case 'count_unique':
      return () => new CountUniqueAccumulator(budget);
    case 'sum':
      return () => new SumAccumulator();
    case 'average':
      return () => new AverageAccumulator();
    case 'minimum':
      return () => new MinimumAccumulator();
    case 'maximum':
      return () => new MaximumAccumulator();
    case 'median':
      return () => new PercentileAccumulator(50, budget);
    case 'percentile':
      return () => new PercentileAccumulator(spec.percentile ?? 50, budget);
    case 'standard_deviation':
      return () => new StandardDeviationAccumulator();
    case 'select_unique':
      return () => new SelectUniqueAccumulator(budget);
  }
}
