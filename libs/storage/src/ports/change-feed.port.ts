// The events of a store as a feed of changes, for a copy that follows it (the
// standalone server's columnar copy follows SQLite: SqliteChangeFeed). Plain
// data only: the copy's engine and the store's driver never meet.

/** One event row as the copy needs it: where it is, what it is, its body text as stored. */
export interface FeedRow {
  rid: number;
  project: string;
  collection: string;
  id: string;
  ts: number;
  body: string;
}

/**
 * What changed in the events table since a copy's position, read in one
 * snapshot. The copy first drops every rowid in `touched` and in
 * (`after`, `through`], then writes `rows` (the current state of those
 * rowids that still exist); doing that twice gives the same copy, so a
 * window cut short by a crash is simply read again.
 */
export interface ChangeWindow {
  rows: FeedRow[];
  /** Rowids deleted or rewritten since `seq` (any may have been re-used or re-read below). */
  touched: number[];
  /** The new-rowid range this window covers: (after, through]. */
  after: number;
  through: number;
  /** The change-log position this window covers. */
  seq: number;
  /** False when the window stopped at a budget: more changes are waiting. */
  caughtUp: boolean;
}

export interface FeedPosition {
  rowid: number;
  seq: number;
}

/** What a copy reads from the store it follows. */
export interface ChangeFeed {
  /** The changes after `from`, in one snapshot, up to a window's budget. */
  read(from: FeedPosition): ChangeWindow;
  /** Forgets log entries through `throughSeq` (the copy has applied them). */
  prune(throughSeq: number): Promise<void>;
  /** The log position below which entries are forgotten (0: none). */
  prunedSeq(): number;
  /** The highest rowid and log position now: how far behind a copy is. */
  head(): FeedPosition;
}
