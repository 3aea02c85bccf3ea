import { CollectionEvent, StoredEvent } from '@app/events';
import {
  buildScanRequest,
  compileFilters,
  EventSelection,
  resolveTimeframe,
} from '@app/query-engine';
import { schemaDeltas } from '@app/schema';
import { EventStore, MetadataStore, UnitOfWork } from '@app/storage';

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
}

/**
 * Filtered deletes, exact for the schema: matching events are streamed with
 * the query planner (timeframe pruning; keen.id eq/in become point lookups on
 * the id index, never a scan), deleted by id in bounded batches, and the
 * counters are decremented by exactly what the deleted events contributed —
 * no recount of the collection, whatever its size.
 */
export class EventDeleter {
  constructor(
    private readonly events: EventStore,
    private readonly metadata: MetadataStore,
    private readonly unitOfWork: UnitOfWork,
  ) {}

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

    const flush = async () => {
      if (pending.length === 0) return;
      const ids = pending.map((e) => e.id);
      pending = [];
      if (options.dryRun) {
        progress.deleted += ids.length;
      } else {
        // The store returns what it actually removed: a concurrent delete of the
        // same id is decremented once, by whichever call removed it.
        // One unit of work per batch: on SQLite the rows and their counters go
        // together; each batch is short, so ingest commits interleave freely.
        const removed = await this.unitOfWork.run(async () => {
          const gone: CollectionEvent[] = await this.events.deleteByIds(projectId, collection, ids);
          if (gone.length > 0)
            await this.metadata.applySchemaDeltas(projectId, schemaDeltas(gone, -1));
          return gone;
        });
        progress.deleted += removed.length;
      }
      options.onProgress?.({ ...progress });
    };

    // Matches are collected page by page and deleted after each page; the scan
    // continues by key (time, id), so removing rows behind it is safe.
    for await (const page of this.events.scan(request, options.signal)) {
      progress.scanned += page.length;
      for (const event of page) {
        if (!matches(event.event)) continue;
        pending.push(event);
        if (pending.length >= batchSize) await flush();
      }
    }
    await flush();
    return progress;
  }
}
