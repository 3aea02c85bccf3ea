import { JsonValue } from '@app/events';
import { compareJson, valueKey } from '../values/total-order';
import { Accumulator, Pacer, ValueBudget } from './accumulator';
import { slicedArray, slicedSort } from './sliced-sort';

/*
 * Distinct values of the target property. Missing and null values are not
 * values; a list or object counts as one value compared structurally (it is
 * not flattened). 1 and "1" are different values.
 */

export class CountUniqueAccumulator implements Accumulator {
  private readonly seen = new Set<unknown>();
  constructor(private readonly budget: ValueBudget) {}

  add(v: JsonValue | undefined): void {
    if (v === undefined || v === null) return;
    const k = valueKey(v);
    if (this.seen.has(k)) return;
    this.budget.take();
    this.seen.add(k);
  }

  result(): JsonValue {
    return this.seen.size;
  }
}

/** Keen leaves the order open; Tally sorts by its total JSON order for stable answers. */
export class SelectUniqueAccumulator implements Accumulator {
  private readonly seen = new Map<unknown, JsonValue>();
  private sorted: JsonValue[] | undefined;
  constructor(private readonly budget: ValueBudget) {}

  add(v: JsonValue | undefined): void {
    if (v === undefined || v === null) return;
    const k = valueKey(v);
    if (this.seen.has(k)) return;
    this.budget.take();
    this.seen.set(k, v);
    this.sorted = undefined;
  }

  /** Up to maxValuesInMemory values to sort: done in slices (see slicedSort). */
  async finish(pacer: Pacer): Promise<void> {
    this.sorted = await slicedSort(
      await slicedArray(this.seen.values(), pacer),
      compareJson,
      pacer,
    );
  }

  result(): JsonValue {
    return this.sorted ?? [...this.seen.values()].sort(compareJson);
  }
}
