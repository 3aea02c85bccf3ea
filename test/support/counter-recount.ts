/**
 * Schema counters as the Mongo counter document keeps them
 * (`counts.<encoded path>.<type>`), recomputed from stored events, for split
 * specs that check "counters equal a recount". No jest imports.
 */
import { schemaDeltas } from '@app/schema';
import { encodePath } from '@app/storage/mongo';
import type { StoredDoc } from './split-stack';

export type CounterCounts = Record<string, Record<string, number>>;

export function recountCounters(docs: StoredDoc[]): CounterCounts {
  const out: CounterCounts = {};
  for (const d of schemaDeltas(docs.map((doc) => ({ collection: doc.c, event: doc.e })))) {
    const key = encodePath(d.path);
    out[key] ??= {};
    out[key][d.type] = (out[key][d.type] ?? 0) + d.delta;
  }
  return out;
}

/** Counters without zero entries (a counter may be left at 0 rather than unset). */
export function nonZeroCounters(counts: CounterCounts | undefined): CounterCounts {
  const out: CounterCounts = {};
  for (const [key, types] of Object.entries(counts ?? {})) {
    for (const [type, n] of Object.entries(types)) if (n !== 0) (out[key] ??= {})[type] = n;
  }
  return out;
}
