import { CollectionEvent } from '@app/events';
import { CollectionChange } from '@app/storage';

const HOUR_MS = 3_600_000;

/**
 * The time ranges a batch of stored events changed, per collection, in whole
 * UTC hours (consecutive hours merged): what the write path appends to the
 * dataset change log. Every dataset bucket (hourly and longer, in any
 * timezone) that holds one of the events overlaps one of these ranges.
 */
export function changedRanges(events: Iterable<CollectionEvent>): CollectionChange[] {
  const hours = new Map<string, Set<number>>();
  for (const e of events) {
    let set = hours.get(e.collection);
    if (!set) hours.set(e.collection, (set = new Set()));
    set.add(Math.floor(e.timestamp / HOUR_MS));
  }
  const out: CollectionChange[] = [];
  for (const [collection, set] of hours) {
    const sorted = [...set].sort((a, b) => a - b);
    let start = sorted[0];
    let prev = start;
    for (const h of sorted.slice(1)) {
      if (h === prev + 1) {
        prev = h;
        continue;
      }
      out.push({ collection, fromMs: start * HOUR_MS, toMs: (prev + 1) * HOUR_MS });
      start = prev = h;
    }
    out.push({ collection, fromMs: start * HOUR_MS, toMs: (prev + 1) * HOUR_MS });
  }
  return out;
}
