import { JsonObject } from '@app/events';
import {
  buildScanRequest,
  compileFilters,
  EventSelection,
  resolveTimeframe,
} from '@app/query-engine';
import { EventStore } from '@app/storage';

export interface ExportProgress {
  /** Events read from the store. */
  scanned: number;
  /** Events that matched and were handed out. */
  exported: number;
}

export interface ExportOptions {
  onProgress?: (progress: ExportProgress) => void;
  signal?: AbortSignal;
  now?: Date;
}

/**
 * The stored bodies (keen.id, keen.timestamp and keen.created_at included) of
 * a collection's events in the selection, page by page from the store's scan:
 * memory stays constant whatever the collection's size. The planner is the
 * query engine's (timeframe pruning, keen.id lookups, pushdown hints) and
 * every filter is applied again here, as an extraction does.
 */
export async function* exportEvents(
  events: Pick<EventStore, 'scan'>,
  projectId: string,
  collection: string,
  selection: EventSelection,
  options: ExportOptions = {},
): AsyncGenerator<JsonObject> {
  const range = resolveTimeframe(
    selection.timeframe,
    selection.timezone,
    options.now ?? new Date(),
  );
  const { request } = buildScanRequest(projectId, collection, range, selection.filters);
  if (request.ids && request.ids.length === 0) return;
  const matches = compileFilters(selection.filters);
  const progress: ExportProgress = { scanned: 0, exported: 0 };
  for await (const page of events.scan(request, options.signal)) {
    progress.scanned += page.length;
    for (const event of page) {
      if (!matches(event.event)) continue;
      progress.exported++;
      yield event.event;
    }
    options.onProgress?.({ ...progress });
  }
}
