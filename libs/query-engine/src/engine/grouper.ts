import { JsonObject, JsonValue } from '@app/events';
import { overLimit } from '../query-errors';
import { compilePath, PathGetter } from '../values/property-path';
import { valueKey } from '../values/total-order';

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
  private readonly root = new Map<unknown, unknown>();
  private readonly getters: PathGetter[];

  /**
   * `cellsPerGroup` is what each group costs in the result (interval buckets ×
   * analyses); groups stop at whichever comes first, maxGroups or maxCells.
   */
  constructor(
    readonly properties: string[],
    private readonly maxGroups: number,
    private readonly cellsPerGroup = 1,
    private readonly maxCells = Infinity,
  ) {
    this.getters = properties.map(compilePath);
  }

  indexOf(event: JsonObject): number {
    const getters = this.getters;
    if (getters.length === 1) {
      const v = getters[0](event);
      const value = v === undefined ? null : v;
      const k = valueKey(value);
      const found = this.index.get(k);
      return found !== undefined ? found : this.add(k, [value]);
    }
    // Several properties: a tree of Maps, one level per property, so no
    // per-event key string or array is built; values are built only for new groups.
    let node = this.root;
    const last = getters.length - 1;
    for (let i = 0; i < last; i++) {
      const v = getters[i](event);
      const k = valueKey(v === undefined ? null : v);
      let next = node.get(k) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(k, next);
      }
      node = next;
    }
    const v = getters[last](event);
    const k = valueKey(v === undefined ? null : v);
    const found = node.get(k) as number | undefined;
    if (found !== undefined) return found;
    const index = this.add(
      undefined,
      getters.map((g) => {
        const gv = g(event);
        return gv === undefined ? null : gv;
      }),
    );
    node.set(k, index);
    return index;
  }

  /** Registers a new group; `key` is set in the single-property index when given. */
  private add(key: unknown, values: JsonValue[]): number {
    if (this.values.length >= this.maxGroups) {
      throw overLimit(
        `group_by ${this.properties.join(', ')} has more than the limit of ${this.maxGroups} groups (maxGroups)`,
      );
    }
    if ((this.values.length + 1) * this.cellsPerGroup > this.maxCells) {
      throw overLimit(
        `group_by ${this.properties.join(', ')} with ${this.cellsPerGroup} interval buckets × analyses per group ` +
          `gives more than the limit of ${this.maxCells} result cells (maxResultCells); ` +
          'narrow the timeframe, use a coarser interval or filter the groups',
      );
    }
    if (key !== undefined) this.index.set(key, this.values.length);
    this.values.push(values);
    return this.values.length - 1;
  }
}
