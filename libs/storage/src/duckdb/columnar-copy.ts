import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { JsonObject, parseJsonText, StoredEvent } from '@app/events';
import { Query, QueryLimits } from '@app/query-engine';
import { ChangeFeed, FeedRow } from '../ports/change-feed.port';
import { CompiledAnswer, CompiledQueries } from '../ports/compiled-queries.port';
import { DuckdbQueryEngine } from './duckdb-query-engine';
import { ColumnKind } from './column-layout';
import { DuckdbEventTable, EventTableOptions, SourceRow } from './event-table';

export interface ColumnarCopyOptions extends EventTableOptions {
  /** Told about background failures (the copy retries on its next round). */
  onError?: (error: unknown) => void;
  /** Between background rounds, ms (queries also catch up before they run). */
  intervalMs?: number;
  /**
   * Told how a long catch-up goes (the fill after an upgrade or a restore, or
   * a burst of ingest): whenever a run starts more than MAX_CATCH_UP_ROWS
   * rows behind, after each of its windows, and once more when it is done.
   */
  onProgress?: (progress: CopyProgress) => void;
}

/**
 * A long catch-up: the copy has taken the source's rows up to rowid `at`, of
 * `head` when the run began (rowids, so deleted rows leave gaps: a share, not
 * an exact count of events); `from` is where the run began (0 for a fresh
 * fill, more when a killed fill resumes).
 */
export interface CopyProgress {
  from: number;
  at: number;
  head: number;
  done: boolean;
}

/**
 * New rows a query would have to copy before it runs (about a second of
 * copying); further behind (a backfill after an upgrade, a bulk import, a
 * burst of ingest), the query takes the TypeScript engine instead of waiting,
 * and the background rounds catch up.
 */
const MAX_CATCH_UP_ROWS = 10_000;
/** Log entries applied before they are pruned from the source. */
const PRUNE_EVERY = 10_000;

/**
 * The standalone server's columnar copy of its events, answering queries
 * with DuckDB (docs/storage-engine.md). SQLite stays the store of record: an
 * event is acknowledged once it is committed there, so the copy adds nothing
 * to the write path. The copy follows the events table through a change feed
 * (new rowids, and a log of deleted or rewritten ones), re-reading the
 * current state of every row it is told about, so applying a window twice
 * (after a crash) gives the same copy. Before a compiled query runs, the copy
 * catches up with everything committed so far: a client reads its own writes.
 */
export class ColumnarCopy implements CompiledQueries {
  private position = { rowid: 0, seq: 0 };
  private appliedSincePrune = 0;
  private syncing: Promise<void> | undefined;
  /** The run queued behind the one in flight, shared by every caller meanwhile (see sync). */
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /**
   * Until its first window, the copy may hold rows above its position (a
   * crash between appending a window and recording it); after that, new
   * rowids are never in the copy before they are appended, and the range
   * delete (a scan of the rid column) is skipped.
   */
  private mayHoldNewRows = true;

  private constructor(
    private readonly feed: ChangeFeed,
    private readonly table: DuckdbEventTable,
    private readonly engine: DuckdbQueryEngine,
    private readonly options: ColumnarCopyOptions,
  ) {}

  static async open(feed: ChangeFeed, options: ColumnarCopyOptions = {}): Promise<ColumnarCopy> {
    const table = await DuckdbEventTable.open(options);
    const copy = new ColumnarCopy(feed, table, DuckdbQueryEngine.over(table), options);
    copy.position = { rowid: await table.state('rowid'), seq: await table.state('seq') };
    // A copy older than the log's pruning point has missed deletes: start over.
    // (A copy made on another machine, or restored from a backup, lands here.)
    const pruned = feed.prunedSeq();
    if (copy.position.seq < pruned) {
      await table.deleteRows([], { after: -1, through: Number.MAX_SAFE_INTEGER });
      copy.position = { rowid: 0, seq: pruned };
      await table.setState(copy.position);
    }
    return copy;
  }

  /** Starts the background rounds (a fresh copy of an existing store fills itself here). */
  start(): void {
    const round = () => {
      this.timer = undefined;
      if (this.closed) return;
      this.sync()
        .catch((e) => this.options.onError?.(e))
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(round, this.options.intervalMs ?? 250).unref();
        });
    };
    round();
  }

  /** How many new rows the copy has yet to take. */
  lag(): number {
    return Math.max(0, this.feed.head().rowid - this.position.rowid);
  }

  async answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits>; now?: Date; signal?: AbortSignal },
  ): Promise<CompiledAnswer> {
    if (
      query.analysis_type !== 'funnel' &&
      !this.table.isComplete(projectId, query.event_collection)
    ) {
      return {
        declined:
          'the collection has more properties than the columnar copy keeps columns for ' +
          "(2,000 in all, and the project's share: QUERY_COLUMNAR_PROJECT_COLUMNS)",
      };
    }
    if (this.lag() > MAX_CATCH_UP_ROWS) return { declined: 'the columnar copy is catching up' };
    await this.sync();
    let declined = 'declined';
    const response = await this.engine.compiledQuery(query, {
      projectId,
      limits: options.limits,
      now: options.now,
      onDecline: (reason) => (declined = reason),
      signal: options.signal,
    });
    return response ? { response } : { declined };
  }

  /**
   * Applies every change committed before this call (one run at a time).
   * A run already in flight may have read its last window before the
   * caller's own write committed, and a query answered after it alone once
   * missed that write (a count of 9 right after 40 acknowledged events), so
   * a caller that finds a run in flight waits for the next run, which starts
   * after it. Callers arriving meanwhile share that next run.
   */
  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.syncing) return this.run();
    const next = this.syncing
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.run();
      });
    this.queued = next;
    return next;
  }

  private run(): Promise<void> {
    this.syncing ??= this.catchUp().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async catchUp(): Promise<void> {
    const from = this.position.rowid;
    const head = this.feed.head().rowid;
    const report =
      this.options.onProgress && head - from > MAX_CATCH_UP_ROWS
        ? this.options.onProgress
        : undefined;
    report?.({ from, at: from, head, done: false });
    for (;;) {
      if (this.closed) return;
      const window = this.feed.read(this.position);
      const changed =
        window.touched.length > 0 ||
        window.through !== this.position.rowid ||
        window.rows.length > 0;
      if (changed) {
        await this.table.deleteRows(
          window.touched,
          this.mayHoldNewRows ? { after: window.after, through: window.through } : undefined,
        );
        this.mayHoldNewRows = false;
        for (const group of byCollection(window.rows)) {
          await this.table.append(group.project, group.collection, group.events, group.sources);
        }
        this.position = { rowid: window.through, seq: window.seq };
        await this.table.setState(this.position);
        this.appliedSincePrune += window.touched.length;
        if (this.appliedSincePrune >= PRUNE_EVERY) {
          await this.feed.prune(this.position.seq);
          this.appliedSincePrune = 0;
        }
      } else if (window.seq !== this.position.seq) {
        this.position = { ...this.position, seq: window.seq };
      }
      if (window.caughtUp) {
        report?.({
          from,
          at: this.position.rowid,
          head: Math.max(head, this.position.rowid),
          done: true,
        });
        return;
      }
      report?.({ from, at: Math.min(this.position.rowid, head), head, done: false });
      // Between windows, let the queries waiting on this thread run.
      await yieldToLoop();
    }
  }

  /** Rows in the copy (tests). */
  rowCount(): Promise<number> {
    return this.table.countRows();
  }

  /**
   * Hand-written SQL against the copy's table (benchmarks compare the compiled
   * path with it): `columns` maps each `{path:kind}` placeholder in `sql` to
   * the generated column name it has (see column-layout.ts for the kinds).
   */
  nativeRows(sql: string, params: (string | number)[] = []): Promise<unknown[][]> {
    const named = sql.replace(/\{([^{}:]+):([a-z]+)\}/g, (_m, path: string, kind: string) => {
      const name = this.table.columns.nameOf(path, kind as ColumnKind);
      if (name === undefined) throw new Error(`no column for ${path}:${kind}`);
      return name;
    });
    return this.table.reading((rows) => rows(named, params));
  }

  /** Every row of a collection in the copy as (id, ts, body text), by id (tests and diagnostics). */
  rowsOf(projectId: string, collection: string): Promise<[string, number, string][]> {
    return this.table.reading(
      async (rows) =>
        (await rows(
          'SELECT id, ts, body FROM events WHERE project = $1 AND collection = $2 ORDER BY id',
          [projectId, collection],
        )) as [string, number, string][],
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.syncing?.catch(() => undefined);
    this.table.close();
  }
}

interface CollectionGroup {
  project: string;
  collection: string;
  events: StoredEvent[];
  sources: SourceRow[];
}

/** Rows grouped by (project, collection), in a Map: both names are tenant text. */
function byCollection(rows: readonly FeedRow[]): Iterable<CollectionGroup> {
  const groups = new Map<string, CollectionGroup>();
  for (const row of rows) {
    const key = JSON.stringify([row.project, row.collection]);
    let group = groups.get(key);
    if (!group) {
      group = { project: row.project, collection: row.collection, events: [], sources: [] };
      groups.set(key, group);
    }
    group.events.push({
      id: row.id,
      timestamp: row.ts,
      event: parseJsonText(row.body, 'A stored event body') as JsonObject,
    });
    group.sources.push({ rid: row.rid, body: row.body });
  }
  return groups.values();
}
