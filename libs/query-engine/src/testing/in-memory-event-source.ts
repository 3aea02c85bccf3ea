import { JsonObject, StoredEvent, storedEventOfBody } from '@app/events';
import { EventSource, ScanRequest } from '../event-source.port';

export interface InMemoryEventSourceOptions {
  /** Events per page (small pages exercise the engine's page handling). */
  pageSize?: number;
  /** Called for every scan; tests use it to assert what was pushed down. */
  onScan?: (request: ScanRequest) => void;
}

/**
 * An EventSource over arrays, honouring the port contract exactly: project,
 * collection, [start, end), ids, order (by timestamp, ties by id) and limit.
 * Filter hints are ignored, which the contract allows.
 */
export class InMemoryEventSource implements EventSource {
  private readonly data = new Map<string, StoredEvent[]>();
  readonly requests: ScanRequest[] = [];

  constructor(private readonly options: InMemoryEventSourceOptions = {}) {}

  add(projectId: string, collection: string, events: StoredEvent[]): this {
    const key = `${projectId}\u0000${collection}`;
    const list = this.data.get(key) ?? [];
    list.push(...events);
    this.data.set(key, list);
    return this;
  }

  async *scan(request: ScanRequest, signal?: AbortSignal): AsyncIterable<StoredEvent[]> {
    this.requests.push(request);
    this.options.onScan?.(request);
    const all = this.data.get(`${request.projectId}\u0000${request.collection}`) ?? [];
    const ids = request.ids ? new Set(request.ids) : undefined;
    let picked = all.filter(
      (e) =>
        (request.start === undefined || e.timestamp >= request.start) &&
        (request.end === undefined || e.timestamp < request.end) &&
        (!ids || ids.has(e.id)),
    );
    picked.sort((a, b) => a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (request.order === 'desc') picked.reverse();
    if (request.limit !== undefined) picked = picked.slice(0, request.limit);
    const size = this.options.pageSize ?? 1000;
    for (let i = 0; i < picked.length; i += size) {
      if (signal?.aborted) return;
      yield picked.slice(i, i + size);
    }
  }
}

/** A StoredEvent from a body, taking id and timestamp from its keen object (as stores do). */
export function storedEvent(
  body: Record<string, unknown> & { keen: { id: string; timestamp: string } },
): StoredEvent {
  const stored = storedEventOfBody(body as unknown as JsonObject);
  if (!stored) throw new Error('test body without a keen.id and an ISO keen.timestamp');
  return stored;
}
