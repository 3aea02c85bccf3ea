import { buildScanRequest, EventSelection, EventSource, resolveTimeframe } from '@app/query-engine';

/**
 * Whether a delete is too big to run inside its request, decided without a
 * full scan: a keen.id delete (eq / in) is a few point operations and never
 * is; any other reads what the planner hands it, so its cost is what it
 * reads. The same scan the delete would run is read until more than
 * `threshold` events have come back, and then stopped — at most
 * threshold + one page is read, whatever the collection's size. A selective
 * filter over a large range is therefore "big" even if it matches little,
 * because deleting it means reading all of that range.
 */
export async function isLargeDelete(
  source: EventSource,
  projectId: string,
  collection: string,
  selection: EventSelection,
  threshold: number,
  now: Date,
): Promise<boolean> {
  const range = resolveTimeframe(selection.timeframe, selection.timezone, now);
  const { request } = buildScanRequest(projectId, collection, range, selection.filters);
  if (request.ids) return false;
  let read = 0;
  // Leaving the loop early calls the store iterator's return(), which releases its cursor.
  for await (const page of source.scan(request)) {
    read += page.length;
    if (read > threshold) return true;
  }
  return false;
}
