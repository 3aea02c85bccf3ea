import { Client, types } from 'cassandra-driver';
import { StoredEvent } from '@app/events';

/** Earliest and latest instants a CQL timestamp (and a JS Date) can hold. */
export const MIN_TIME = -8.64e15;
export const MAX_TIME = 8.64e15;

const SELECT_ASC =
  'SELECT id, ts, body FROM events WHERE project = ? AND collection = ? AND bucket = ? AND ts >= ? AND ts < ?';
const SELECT_DESC = `${SELECT_ASC} ORDER BY ts DESC, id DESC`;

export interface PartitionKey {
  projectId: string;
  collection: string;
  bucket: number;
}

export function toStoredEvent(row: types.Row): StoredEvent {
  return {
    id: row.id as string,
    timestamp: (row.ts as Date).getTime(),
    event: JSON.parse(row.body as string),
  };
}

/**
 * Reads one event partition page by page (driver paging state, `fetchSize`
 * rows a round trip), keeping exactly one page fetched ahead of the consumer:
 * the partition is never held in memory, and while the engine evaluates a
 * page the next one is already on the wire.
 */
export class PartitionReader {
  private ahead: Promise<types.ResultSet> | undefined;
  private done = false;

  constructor(
    private readonly client: Client,
    readonly key: PartitionKey,
    private readonly range: { start: number; end: number; desc: boolean },
    private readonly fetchSize: number,
  ) {}

  /** Starts fetching the first page (called when the partition enters the read-ahead window). */
  prefetch(): void {
    if (!this.ahead && !this.done) this.ahead = this.fetch(undefined);
  }

  /** The next page, or undefined when the partition is exhausted. */
  async next(): Promise<StoredEvent[] | undefined> {
    if (this.done) return undefined;
    this.prefetch();
    const rs = await this.ahead!;
    if (rs.pageState) this.ahead = this.fetch(rs.pageState);
    else {
      this.ahead = undefined;
      this.done = true;
    }
    return rs.rows.map(toStoredEvent);
  }

  private fetch(pageState: string | undefined): Promise<types.ResultSet> {
    const { projectId, collection, bucket } = this.key;
    const promise = this.client.execute(
      this.range.desc ? SELECT_DESC : SELECT_ASC,
      [
        projectId,
        collection,
        new Date(bucket),
        new Date(this.range.start),
        new Date(this.range.end),
      ],
      { prepare: true, fetchSize: this.fetchSize, pageState, autoPage: false },
    );
    // A page fetched ahead may never be awaited (the consumer stopped early):
    // its failure must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    return promise;
  }
}

/**
 * Pages of several partitions in order, reading up to `concurrency`
 * partitions at once (each at most one page ahead), so memory stays bounded
 * by concurrency × 2 pages whatever the timeframe.
 */
export async function* readPartitions(
  readers: PartitionReader[],
  concurrency: number,
  signal?: AbortSignal,
  onStart?: (index: number) => void,
): AsyncIterable<StoredEvent[]> {
  let started = 0;
  for (let i = 0; i < readers.length; i++) {
    for (; started < Math.min(readers.length, i + concurrency); started++) {
      onStart?.(started);
      readers[started].prefetch();
    }
    for (;;) {
      signal?.throwIfAborted();
      const page = await readers[i].next();
      if (page === undefined) break;
      if (page.length > 0) yield page;
    }
  }
}
