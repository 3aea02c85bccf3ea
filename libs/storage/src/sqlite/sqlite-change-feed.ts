import { ChangeFeed, ChangeWindow, FeedPosition, FeedRow } from '../ports/change-feed.port';
import { SqliteDatabase } from './sqlite-database';

/** Log entries read per window; each names one rowid to re-read. */
const LOG_ENTRIES = 10_000;
/**
 * Bodies per window, bounding the copy's memory per step. Larger windows
 * spread the per-window cost (one appender session, one position update)
 * thinner, but a fill's JavaScript heap grows with them: with 10,000 rows
 * and 16 MB, a server filling 200,000 events peaked at 869 MiB; with 2,500
 * and 4 MB (and DuckDB's allocator tuned, duckdb-allocator.ts), at 645 MiB,
 * for a fill ~10% slower (docs/benchmarks.md, "engine-rss").
 */
export const FEED_WINDOW = { rows: 2_500, bytes: 4_000_000 } as const;

/**
 * The events table as a feed for the columnar copy (libs/storage/src/duckdb/
 * columnar-mirror.ts). New rows are found by rowid: SQLite gives a new row
 * max(rowid) + 1, so rows above the copy's position are new, and a rowid is
 * reused only when the highest row was deleted, which the log records.
 * Deletes and rewrites come from the `event_changes` log that migration 3's
 * triggers fill, whoever made them (writer thread, delete jobs, the CLI).
 */
export class SqliteChangeFeed implements ChangeFeed {
  constructor(private readonly db: SqliteDatabase) {}

  read(from: FeedPosition): ChangeWindow {
    const reader = this.db.reader;
    return reader.transaction(() => {
      const log = reader
        .prepare('SELECT seq, row FROM event_changes WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(from.seq, LOG_ENTRIES) as { seq: number; row: number }[];
      const logDone = log.length < LOG_ENTRIES;
      const seq = log.length > 0 ? log[log.length - 1].seq : from.seq;
      const touched = [...new Set(log.map((l) => l.row))];
      const top =
        (reader.prepare('SELECT max(rowid) AS top FROM events').get() as { top: number | null })
          .top ?? 0;

      const rows: FeedRow[] = [];
      let bytes = 0;
      const select = 'SELECT rowid AS rid, project, collection, id, ts, body FROM events';
      // Rows the copy holds that changed since: their current state, if any.
      const old = touched.filter((r) => r <= from.rowid);
      for (let i = 0; i < old.length; i += 500) {
        const chunk = old.slice(i, i + 500);
        for (const row of reader
          .prepare(`${select} WHERE rowid IN (${chunk.map(() => '?').join(',')})`)
          .iterate(...chunk) as IterableIterator<FeedRow>) {
          rows.push(row);
          bytes += row.body.length;
        }
      }
      // New rows, up to the window's budget.
      let through = from.rowid;
      let cut = false;
      if (top > from.rowid) {
        for (const row of reader
          .prepare(`${select} WHERE rowid > ? ORDER BY rowid LIMIT ?`)
          .iterate(from.rowid, FEED_WINDOW.rows) as IterableIterator<FeedRow>) {
          rows.push(row);
          bytes += row.body.length;
          through = row.rid;
          if (bytes >= FEED_WINDOW.bytes) break;
        }
        cut = through < top;
      } else if (top < from.rowid && logDone) {
        // The highest rows were deleted (all of it is in the log read above):
        // the copy holds nothing above `top` once `touched` is dropped, and
        // the next insert may take a rowid at or below the old position.
        through = top;
      }
      return {
        rows,
        touched,
        after: Math.min(from.rowid, through),
        through,
        seq,
        caughtUp: logDone && !cut,
      };
    })();
  }

  /**
   * Forgets log entries the copy has applied, and records how far it has
   * forgotten: a copy whose position is older than that has missed changes
   * and is rebuilt (columnar-mirror.ts).
   */
  async prune(throughSeq: number): Promise<void> {
    await this.db.write(() => {
      this.db.writer.prepare('DELETE FROM event_changes WHERE seq <= ?').run(throughSeq);
      this.db.writer
        .prepare(
          `INSERT INTO settings (name, value) VALUES ('columnar_pruned_seq', ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value
           WHERE CAST(excluded.value AS INTEGER) > CAST(settings.value AS INTEGER)`,
        )
        .run(String(throughSeq));
    });
  }

  /** The log position below which entries are forgotten (0: none). */
  prunedSeq(): number {
    const row = this.db.reader
      .prepare("SELECT value FROM settings WHERE name = 'columnar_pruned_seq'")
      .get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /** The highest rowid and log position now: how far behind a copy is. */
  head(): FeedPosition {
    const rowid =
      (
        this.db.reader.prepare('SELECT max(rowid) AS top FROM events').get() as {
          top: number | null;
        }
      ).top ?? 0;
    const seq =
      (
        this.db.reader.prepare('SELECT max(seq) AS s FROM event_changes').get() as {
          s: number | null;
        }
      ).s ?? 0;
    return { rowid, seq };
  }
}
