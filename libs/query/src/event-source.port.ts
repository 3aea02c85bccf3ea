import { StoredEvent } from '@app/events';
import { Filter } from './filters/filter.types';

/**
 * What the query engine asks a store for. A store must honour the project,
 * collection, time range (start inclusive, end exclusive, epoch ms) and `ids`
 * exactly; `filters` are hints it MAY push down (the engine re-applies every
 * filter, so pushing down fewer is always correct, never more selective than
 * the filter itself).
 */
export interface ScanRequest {
  projectId: string;
  collection: string;
  start?: number;
  end?: number;
  /** keen.id values (from eq / in filters): a point lookup on the id index. */
  ids?: string[];
  filters?: Filter[];
  /** Extraction `latest`: newest first, at most `limit` events. */
  order?: 'asc' | 'desc';
  limit?: number;
}

/** Pages of matching candidates; consumers pull, so stores stream with backpressure. */
export interface EventSource {
  scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]>;
}
