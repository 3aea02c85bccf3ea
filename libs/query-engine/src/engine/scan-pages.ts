import { StoredEvent } from '@app/events';
import { EventSource, ScanRequest } from '../event-source.port';
import { planPushdown } from '../filters/filter-pushdown';
import { Filter } from '../filters/filter.types';
import { TimeRange } from '../timeframe/timeframe';
import { QueryRun } from './query-run';
import { inSlices } from './time-slice';

/**
 * The ScanRequest for one collection: the resolved timeframe, `keen.id`
 * point lookups and simple filters as pushdown hints. `exact` tells callers
 * whether the store's output needs no further filtering beyond ids, which is
 * when a `limit` may be handed to the store.
 */
export function buildScanRequest(
  projectId: string,
  collection: string,
  range: TimeRange | undefined,
  filters: Filter[],
): { request: ScanRequest; exact: boolean } {
  const push = planPushdown(filters);
  const request: ScanRequest = { projectId, collection };
  if (range) {
    request.start = range.start;
    request.end = range.end;
  }
  if (push.ids) request.ids = push.ids;
  if (push.hints.length > 0) request.filters = push.hints;
  return { request, exact: push.exact };
}

/**
 * Pulls pages from the store and hands them to `onPage` in consecutive
 * slices sized to the query's time slice, pausing (setImmediate) whenever the
 * slice is used up: a page of 2,000 events under a costly filter no longer
 * runs in one synchronous go. The deadline and cancellation are enforced at
 * every pause and between pages. `onPage` returns false to stop early;
 * leaving the loop calls the store iterator's return(), which releases its
 * cursor.
 */
export async function scanPages(
  run: QueryRun,
  source: EventSource,
  request: ScanRequest,
  onPage: (page: StoredEvent[]) => boolean | void,
): Promise<void> {
  run.check();
  if (request.ids && request.ids.length === 0) return;
  for await (const page of source.scan(request, run.signal)) {
    run.eventsScanned += page.length;
    const whole = await inSlices(run.slice, page.length, (from, to) =>
      onPage(from === 0 && to === page.length ? page : page.slice(from, to)),
    );
    if (!whole) return;
    run.check();
  }
}
