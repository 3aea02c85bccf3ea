import { JsonValue } from '@app/events';

/**
 * A small memo of add-on results: a batch from one browser repeats its user
 * agent and address on every event, and real traffic repeats a few thousand of
 * each. Bounded (the oldest entry goes first), so no client can grow it.
 */
export class BoundedCache<V extends JsonValue | undefined> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly max: number) {}

  /** The cached result for `key`, computing it on a miss; a fresh copy every time. */
  get(key: string, compute: () => V): V {
    let value: V;
    if (this.entries.has(key)) {
      value = this.entries.get(key) as V;
    } else {
      value = compute();
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, value);
    }
    // Each event gets its own objects: nothing stored is shared between events.
    return copyJson(value);
  }
}

function copyJson<V extends JsonValue | undefined>(value: V): V {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => copyJson(item)) as V;
  const copy: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) copy[key] = copyJson(value[key]);
  return copy as V;
}
