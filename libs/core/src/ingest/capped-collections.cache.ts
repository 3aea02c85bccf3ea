import { TallyConfig } from '@app/config';
import { EventPersister, MetadataStore } from '@app/storage';
import { Log } from '../log.port';

const key = (projectId: string, collection: string) => JSON.stringify([projectId, collection]);

/**
 * Which collections are over their schema property cap, as the write path
 * reports it. Held in memory: the write path's only per-request dependency
 * stays the queue. Two sources:
 *  - the metadata store, reloaded every KEY_CACHE_REFRESH_MS (the split
 *    deployment's ingest process applies no counters; the worker sets the
 *    flag, so a write learns of it one worker delivery plus one refresh
 *    later), which also carries the flag across restarts;
 *  - this process's persister (standalone), which reports a capped collection
 *    right after the commit, so the very write that crosses the cap says so.
 */
export class CappedCollectionsCache {
  private loaded = new Set<string>();
  /** Reported by the local persister and not yet covered by a reload. */
  private readonly reported = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly config: TallyConfig,
    private readonly logger: Log,
    /** The process's own persister, when it writes events itself (standalone). */
    persister?: EventPersister,
  ) {
    persister?.onSchemaCapped((projectId, collection) =>
      this.reported.add(key(projectId, collection)),
    );
  }

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((error: unknown) =>
        this.logger.warn(`capped collections not reloaded: ${String(error)}`),
      );
    }, this.config.keyCacheRefreshMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  isCapped(projectId: string, collection: string): boolean {
    const k = key(projectId, collection);
    return this.loaded.has(k) || this.reported.has(k);
  }

  /**
   * Reports made before the reload began were committed before it reads, so
   * what it reads covers them; later ones are kept for the next round. A
   * flag a recount cleared is gone after the next reload.
   */
  private async reload(): Promise<void> {
    const covered = [...this.reported];
    const capped = await this.metadata.listCappedCollections();
    this.loaded = new Set(capped.map((c) => key(c.projectId, c.collection)));
    for (const k of covered) this.reported.delete(k);
  }
}
