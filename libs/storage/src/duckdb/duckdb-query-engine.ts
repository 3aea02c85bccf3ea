import { StoredEvent } from '@app/events';
import {
  executionMetadata,
  Query,
  QueryLimits,
  QueryResponse,
  resolveLimits,
} from '@app/query-engine';
import { compileQuery, Compilation } from './compile-query';
import { DuckdbEventTable, EventTableOptions } from './event-table';
import { shapeExtraction } from './shape-extraction';
import { shapeRows } from './shape-rows';

export interface CompiledQueryContext {
  projectId: string;
  /** The instant relative timeframes are resolved against (tests pin it). */
  now?: Date;
  limits?: Partial<QueryLimits>;
  /** Told why a query was declined (for metrics and tests); the answer is then undefined. */
  onDecline?: (reason: string) => void;
  /** Aborted at the query's deadline: the running statement is interrupted and the query declined. */
  signal?: AbortSignal;
}

/**
 * The embedded engine's query path: events in one DuckDB table with typed
 * columns, queries compiled to SQL where the compiler can express Keen's
 * semantics exactly. `compiledQuery` answers exactly what executeQuery would,
 * or undefined when the query is declined; the caller then runs the
 * TypeScript engine over its event scan.
 */
export class DuckdbQueryEngine {
  private constructor(private readonly table: DuckdbEventTable) {}

  static async open(options: EventTableOptions = {}): Promise<DuckdbQueryEngine> {
    return new DuckdbQueryEngine(await DuckdbEventTable.open(options));
  }

  /** The engine over a table someone else fills (the columnar copy). */
  static over(table: DuckdbEventTable): DuckdbQueryEngine {
    return new DuckdbQueryEngine(table);
  }

  append(projectId: string, collection: string, events: readonly StoredEvent[]): Promise<void> {
    return this.table.append(projectId, collection, events);
  }

  /** The SQL a query compiles to, or why it does not (for tests and diagnostics). */
  compile(query: Query, ctx: CompiledQueryContext): Compilation {
    const limits = resolveLimits(ctx.limits);
    return compileQuery(query, {
      projectId: ctx.projectId,
      now: (ctx.now ?? new Date()).getTime(),
      limits,
      columnsOf: (path) =>
        this.table.columns.kindsOf(ctx.projectId, compiledCollection(query), path),
    });
  }

  compiledQuery(query: Query, ctx: CompiledQueryContext): Promise<QueryResponse | undefined> {
    const startedAt = Date.now();
    const decline = (reason: string) => {
      ctx.onDecline?.(reason);
      return undefined;
    };
    // Compiled and run with the connection to itself: the SQL names exactly
    // the columns the table has when it runs.
    return this.table.reading(async (rows) => {
      const compilation = this.compile(query, ctx);
      if (!('compiled' in compilation)) return decline(compilation.declined);
      const { compiled } = compilation;
      let found: unknown[][];
      let scanned: unknown[][] | undefined;
      try {
        found = await rows(compiled.sql, compiled.params);
        if (compiled.scanned) scanned = await rows(compiled.scanned.sql, compiled.scanned.params);
      } catch (e) {
        if (ctx.signal?.aborted) return decline('cancelled at the query deadline');
        // The engine can still answer: a failing statement costs speed, not the answer.
        return decline(`DuckDB failed: ${(e as Error).message}`);
      }
      const result =
        compiled.kind === 'extraction'
          ? shapeExtraction(compiled, found)
          : query.analysis_type !== 'extraction' && query.analysis_type !== 'funnel'
            ? shapeRows(query, compiled, found, resolveLimits(ctx.limits))
            : undefined;
      if (result === undefined) {
        return decline('over a limit the engine reports (groups, cells, values or events)');
      }
      if (!scanned) return { result };
      const eventsScanned = Number(scanned[0][0]);
      return { result, execution_metadata: executionMetadata(query, { startedAt, eventsScanned }) };
    }, ctx.signal);
  }

  close(): void {
    this.table.close();
  }
}

const compiledCollection = (query: Query): string =>
  query.analysis_type === 'funnel' ? '' : query.event_collection;
