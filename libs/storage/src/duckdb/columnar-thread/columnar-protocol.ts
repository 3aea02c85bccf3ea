import { Query, QueryLimits } from '@app/query-engine';
import { CompiledAnswer } from '../../ports/compiled-queries.port';
import type { CopyProgress } from '../columnar-copy';

/** What the columnar thread is started with. */
export interface ColumnarThreadData {
  /** The SQLite file the copy follows. */
  file: string;
  /** The copy's DuckDB file. */
  copyPath: string;
  threads: number;
  memoryLimit: string;
  /** Typed columns one project may have values in (EventTableOptions.projectColumns). */
  projectColumns: number;
}

export type ToColumnar =
  | {
      type: 'answer';
      id: number;
      projectId: string;
      query: Query;
      limits: Partial<QueryLimits>;
      /** The query's instant (relative timeframes resolve against it), epoch ms. */
      now: number;
    }
  | { type: 'close' };

export type FromColumnar =
  /** The copy is open; `tid` is the thread's OS thread id (Linux), for the thread CPU metric. */
  | { type: 'ready'; tid?: number }
  | { type: 'answered'; id: number; answer: CompiledAnswer }
  /** A background round failed (logged by the host; the copy retries on its next round). */
  | { type: 'round-failed'; message: string }
  /** How a long catch-up goes (ColumnarCopyOptions.onProgress). */
  | { type: 'progress'; progress: CopyProgress }
  /** Something the host should log (e.g. an unreadable copy moved aside). */
  | { type: 'notice'; message: string }
  | { type: 'closed' };
