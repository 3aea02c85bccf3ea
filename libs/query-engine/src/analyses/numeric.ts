import { JsonValue } from '@app/events';
import { Accumulator } from './accumulator';

/*
 * Numeric analyses read only JSON numbers: strings, booleans and lists are
 * skipped (Keen's schema types them as string/bool/list, not num). Empty
 * inputs give 0 for sum and null for the others, as Keen does.
 */

export class SumAccumulator implements Accumulator {
  private sum = 0;
  add(v: JsonValue | undefined): void {
    if (typeof v === 'number') this.sum += v;
  }
  result(): JsonValue {
    return this.sum;
  }
}

export class AverageAccumulator implements Accumulator {
  private sum = 0;
  private n = 0;
  add(v: JsonValue | undefined): void {
    if (typeof v === 'number') {
      this.sum += v;
      this.n++;
    }
  }
  result(): JsonValue {
    return this.n === 0 ? null : this.sum / this.n;
  }
}

export class MinimumAccumulator implements Accumulator {
  private min: number | null = null;
  add(v: JsonValue | undefined): void {
    if (typeof v === 'number' && (this.min === null || v < this.min)) this.min = v;
  }
  result(): JsonValue {
    return this.min;
  }
}

export class MaximumAccumulator implements Accumulator {
  private max: number | null = null;
  add(v: JsonValue | undefined): void {
    if (typeof v === 'number' && (this.max === null || v > this.max)) this.max = v;
  }
  result(): JsonValue {
    return this.max;
  }
}

/** Population standard deviation, by Welford's method (one pass, numerically stable). */
export class StandardDeviationAccumulator implements Accumulator {
  private n = 0;
  private mean = 0;
  private m2 = 0;
  add(v: JsonValue | undefined): void {
    if (typeof v !== 'number') return;
    this.n++;
    const d = v - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (v - this.mean);
  }
  result(): JsonValue {
    return this.n === 0 ? null : Math.sqrt(this.m2 / this.n);
  }
}
