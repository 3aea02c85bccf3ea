import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JsonObject } from '@app/events';
import { SavedQueryRecord, SavedQueryStore } from '@app/storage';
import { Log } from '../log.port';
import { SavedQueryRunner } from './saved-queries.service';
import { nextRefreshAt } from './saved-query-rules';

export interface SavedQueryRefresherOptions {
  /** SAVED_QUERY_REFRESH_CHECK_MS: how often this process looks for due cached queries. */
  checkIntervalMs: number;
  /**
   * How long a claim lasts: longer than any computation may run (the query
   * deadline plus a margin), so a live owner never loses it, while the lease
   * of a process that crashed mid-computation expires and another one takes it.
   */
  leaseMs: number;
  /** After a failed computation the query is due again this much later. */
  retryMs: number;
  /** Computations per check at most, so one check cannot hold the process for long. */
  maxPerCheck?: number;
  /** This process's name on its leases. */
  owner?: string;
}

/**
 * Computes cached queries in the background, in every process that serves
 * queries (query pool, standalone). All of them check; the store's lease lets
 * one process compute a given query at a time. Queries run one after another
 * with no key's scope, through the same query service as requests (so under
 * its per-project limits and deadline). A failed computation is logged and
 * retried after `retryMs`; the stored answer, if any, is kept meanwhile.
 */
export class SavedQueryRefresher {
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<number> | null = null;
  private readonly stopping = new AbortController();
  readonly owner: string;

  constructor(
    private readonly store: SavedQueryStore,
    private readonly runner: SavedQueryRunner,
    private readonly options: SavedQueryRefresherOptions,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.timer.unref();
    void this.check();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.checking;
  }

  /** One check now (unless one is under way: then that one); resolves to the queries it computed. */
  check(): Promise<number> {
    if (!this.checking) {
      this.checking = this.computeDue()
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'saved query refresh check failed; retried next interval');
          return 0;
        })
        .finally(() => {
          this.checking = null;
        });
    }
    return this.checking;
  }

  private async computeDue(): Promise<number> {
    const max = this.options.maxPerCheck ?? 20;
    let computed = 0;
    for (let n = 0; n < max && !this.stopping.signal.aborted; n++) {
      const claimedAt = this.now();
      const record = await this.store.claimDue(this.owner, claimedAt, this.options.leaseMs);
      if (!record) break;
      if (await this.compute(record, claimedAt)) computed++;
    }
    return computed;
  }

  private async compute(record: SavedQueryRecord, claimedAt: number): Promise<boolean> {
    const { projectId, name } = record;
    try {
      const response = await this.runner.run(
        projectId,
        String(record.query.analysis_type),
        record.query,
        this.stopping.signal,
      );
      const computedAt = this.now();
      const saved = await this.store.saveResult(
        projectId,
        name,
        this.owner,
        { version: record.version, response: response as unknown as JsonObject, computedAt },
        claimedAt,
        nextRefreshAt(record.refreshRate, computedAt),
      );
      // Not saved: replaced or deleted meanwhile (or our lease expired); the new state rules.
      return saved;
    } catch (error) {
      this.log.warn(
        { err: error, project: projectId, savedQuery: name },
        'cached query computation failed; retried later',
      );
      await this.store
        .release(projectId, name, this.owner, this.now() + this.options.retryMs)
        .catch(() => undefined);
      return false;
    }
  }
}
