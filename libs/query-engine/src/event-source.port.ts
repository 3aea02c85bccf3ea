import { StoredEvent } from '@app/events';
import { Filter } from './filters/filter.types';

/**
 * What the query engine asks a store for. A store must honour the project,
 * collection, time range (start inclusive, end exclusive, epoch ms) and `ids`
 * exactly; `filters` are hints it MAY push down (the engine re-applies every
 * filter, so pushing down fewer is always correct, never more selective than
 * the filter itself). Tally's equality is loose (3 equals "3", datetimes equal
 * across notations); `exactEqualityValues()` says when an eq/in can be pushed
 * down as plain equality without losing matches.
 */
export interface ScanRequest {
  projectId: string;
  collection: string;
  start?: number;
  end?: number;
  /** keen.id values (from eq / in filters): a point lookup on the id index. */
  ids?: string[];
  filters?: Filter[];
  /**
   * Order by timestamp (ties in any order). The engine asks for `asc` for
   * extractions and `desc` for extraction `latest`, reading newest first and
   * stopping early; when absent, any order will do.
   */
  order?: 'asc' | 'desc';
  /**
   * At most this many events, counted before the engine's filters. The engine
   * does not set it today (it stops reading instead); kept for callers that
   * know the store's output is final.
   */
  limit?: number;
}

/** What an export of whole stored events reads: a collection's time range, nothing else. */
export type NdjsonScanRequest = Pick<ScanRequest, 'projectId' | 'collection' | 'start' | 'end'>;

/** Consecutive events of an export as the store holds them (see EventSource.scanNdjson). */
export interface NdjsonPage {
  /** UTF-8 text: each event's stored JSON text followed by '\n'. */
  bytes: Uint8Array;
  /** Events (lines) in `bytes`; at least one. */
  events: number;
}

/** Pages of matching candidates; consumers pull, so stores stream with backpressure. */
export interface EventSource {
  scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]>;
  /**
   * Optional: every event of the range, oldest first (equal timestamps by
   * id), as NDJSON bytes made of the stored text, which must be exactly
   * `JSON.stringify(event)` (StoredEvent.text). The NDJSON export of whole
   * events (no filters, property_names or latest) reads this instead of
   * scan(): no event object and no string per event. Stops at `signal`.
   */
  scanNdjson?(request: NdjsonScanRequest, signal?: AbortSignal): AsyncIterable<NdjsonPage>;
}
