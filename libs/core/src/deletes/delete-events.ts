import { setTimeout as sleep } from 'node:timers/promises';
import { CollectionEvent, StoredEvent, TallyError } from '@app/events';
import {
  buildScanRequest,
  compileFilters,
  EventSelection,
  resolveTimeframe,
} from '@app/query-engine';
import { schemaDeltas } from '@app/schema';
import { EventStore, MetadataStore, UnitOfWork, WritePath, DatasetStore } from '@app/storage';
import { PendingWrites } from './pending-writes';
import { changedRanges } from '../datasets/changed-ranges';

export interface DeleteProgress {
  scanned: number;
  deleted: number;
}

export interface DeleteOptions {
  /** Events deleted per store call: bounded so no call holds locks or the pool for long. */
  batchSize?: number;
  /** Count only; delete nothing (the CLI's dry run). */
  dryRun?: boolean;
  onProgress?: (progress: DeleteProgress) => void;
  signal?: AbortSignal;
  now?: Date;
  /**
   * Pauses before the matches held back by the pending-marker rule are read
   * again (default 50, 250, 1000 ms): a running delivery applies its counters
   * within milliseconds. Whatever is still held after them fails the delete
   * with CountersPendingError (503, retryable); a repeat deletes the rest.
   */
  retryDelaysMs?: number[];
}

/**
 * Filtered deletes, exact for the schema: matching events are streamed with
 * the query planner (timeframe pruning; keen.id eq/in become point lookups on
 * the id index, never a scan), deleted by id in bounded batches, and the
 * counters are decremented by exactly what the deleted events contributed —
 * no recount of the collection, whatever its size.
 *
 * Events whose delivery's counters are still pending (MongoDB, Cassandra)
 * are held back until they are applied (PendingWrites): deleting them would
 * decrement counts that were never added.
 */
export class EventDeleter {
  private readonly pendingWrites: PendingWrites;

  constructor(
    private readonly events: EventStore,
    private readonly metadata: MetadataStore,
    private readonly unitOfWork: UnitOfWork,
    writes: WritePath,
    /** The dataset change log: the removed events' time ranges, in the same unit of work. */
    private readonly datasets?: Pick<DatasetStore, 'recordChanges'>,
  ) {
    this.pendingWrites = new PendingWrites(writes);
  }

  async delete(
    projectId: string,
    collection: string,
    selection: EventSelection,
    options: DeleteOptions = {},
  ): Promise<DeleteProgress> {
    const batchSize = options.batchSize ?? 500;
    const range = resolveTimeframe(
      selection.timeframe,
      selection.timezone,
      options.now ?? new Date(),
    );
    const { request } = buildScanRequest(projectId, collection, range, selection.filters);
    const matches = compileFilters(selection.filters);
    const progress: DeleteProgress = { scanned: 0, deleted: 0 };
    let pending: StoredEvent[] = [];
    // Only ids are kept across the scan; the events are read again for a retry.
    let held: string[] = [];

    const flush = async () => {
      if (pending.length === 0) return;
      let ids = pending.map((e) => e.id);
      pending = [];
      if (options.dryRun) {
        progress.deleted += ids.length;
      } else {
        const split = await this.pendingWrites.split(projectId, collection, ids);
        held.push(...split.held);
        ids = split.settled;
        // The store returns what it actually removed: a concurrent delete of the
        // same id is decremented once, by whichever call removed it.
        // One unit of work per batch: on SQLite the rows and their counters go
        // together; each batch is short, so ingest commits interleave freely.
        const removed = await this.unitOfWork.run(async () => {
          const gone: CollectionEvent[] = await this.events.deleteByIds(projectId, collection, ids);
          if (gone.length > 0) {
            await this.metadata.applySchemaDeltas(projectId, schemaDeltas(gone, -1));
            await this.datasets?.recordChanges(projectId, changedRanges(gone));
          }
          return gone;
        });
        progress.deleted += removed.length;
      }
      options.onProgress?.({ ...progress });
    };

    const consider = async (page: StoredEvent[]) => {
      for (const event of page) {
        if (!matches(event.event)) continue;
        pending.push(event);
        if (pending.length >= batchSize) await flush();
      }
    };

    // Matches are collected page by page and deleted after each page; the scan
    // continues by key (time, id), so removing rows behind it is safe.
    for await (const page of this.events.scan(request, options.signal)) {
      progress.scanned += page.length;
      await consider(page);
    }
    await flush();

    for (const delay of options.retryDelaysMs ?? [50, 250, 1000]) {
      if (held.length === 0) break;
      await sleep(delay, undefined, { signal: options.signal });
      const ids = held;
      held = [];
      for (let i = 0; i < ids.length; i += batchSize) {
        const again = { ...request, ids: ids.slice(i, i + batchSize) };
        for await (const page of this.events.scan(again, options.signal)) await consider(page);
      }
      await flush();
    }
    if (held.length > 0) {
      throw new TallyError(
        'unavailable',
        'CountersPendingError',
        `${progress.deleted} events were deleted; ${held.length} more match but belong to writes whose ` +
          'schema counters are still being applied. Repeat the delete shortly to remove them.',
        5,
      );
    }
    return progress;
  }
}
