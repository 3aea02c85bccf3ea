/**
 * Recent query results for `max_age`: a query that names a max_age reuses a
 * result computed at most that many seconds ago. Bounded, least recently used
 * out first; per process (each query process keeps its own).
 */
export class ResultCache<T> {
  private readonly entries = new Map<string, { at: number; value: T }>();

  constructor(private readonly capacity: number) {}

  get(key: string, maxAgeSeconds: number, now = Date.now()): T | undefined {
    const hit = this.entries.get(key);
    if (!hit || now - hit.at > maxAgeSeconds * 1000) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: string, value: T, now = Date.now()): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    while (this.entries.size > this.capacity) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }
}

/** A stable key for a parsed query: same parameters in any order → same key. */
export function cacheKey(projectId: string, query: unknown): string {
  return `${projectId}\u0000${stableStringify(query)}`;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
