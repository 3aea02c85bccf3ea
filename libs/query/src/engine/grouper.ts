import { JsonObject, JsonValue } from '@app/events';
import { overLimit } from '../query-errors';
import { compilePath, PathGetter } from '../values/property-path';
import { canonicalJson, valueKey } from '../values/total-order';

/**
 * Assigns each event a dense group index by its group_by values (missing →
 * null) and remembers each group's values. Dense indexes let accumulator
 * cells live in plain arrays. The number of groups is capped (maxGroups)
 * because group_by on a high-cardinality property would otherwise grow
 * without bound.
 */
export class Grouper {
  readonly values: JsonValue[][] = [];
  private readonly index = new Map<unknown, number>();
  private readonly getters: PathGetter[];

  constructor(
    readonly properties: string[],
    private readonly maxGroups: number,
  ) {
    this.getters = properties.map(compilePath);
  }

  indexOf(event: JsonObject): number {
    if (this.getters.length === 1) {
      const v = this.getters[0](event);
      const value = v === undefined ? null : v;
      const k = valueKey(value);
      const found = this.index.get(k);
      return found !== undefined ? found : this.add(k, [value]);
    }
    const vals = this.getters.map((g) => {
      const v = g(event);
      return v === undefined ? null : v;
    });
    const k = canonicalJson(vals);
    const found = this.index.get(k);
    return found !== undefined ? found : this.add(k, vals);
  }

  private add(key: unknown, values: JsonValue[]): number {
    if (this.values.length >= this.maxGroups) {
      throw overLimit(
        `group_by ${this.properties.join(', ')} has more than the limit of ${this.maxGroups} groups (maxGroups)`,
      );
    }
    this.index.set(key, this.values.length);
    this.values.push(values);
    return this.values.length - 1;
  }
}
