import type { Document } from 'mongodb';
import { Query, QueryLimits, resolveLimits } from '@app/query-engine';
import { CompiledAnswer, CompiledQueries } from '../../ports/compiled-queries.port';
import { compileMongoQuery, MongoCompilation, UNSURE } from './mongo-query.compile';
import { shapeMongoRows } from './mongo-shape';

/** What the compiled path needs of the event store: one aggregation, bounded in time. */
export interface MongoAggregator {
  aggregate(
    pipeline: Document[],
    options: { maxTimeMS: number; signal?: AbortSignal },
  ): Promise<Document[]>;
}

/**
 * Queries MongoDB answers itself (docs/query-language.md, "Where a query
 * runs"): the compiled pipeline runs on the server with the query deadline as
 * `maxTimeMS`, and only its result cells reach this process. A query the
 * compiler declines, one whose events include an unsure value (see
 * mongo-filter.compile.ts), and one the server fails are answered by the
 * TypeScript engine over the event scan; the reason is kept for tests and
 * the path metric.
 */
export class MongoCompiledQueries implements CompiledQueries {
  constructor(private readonly events: MongoAggregator) {}

  compile(
    projectId: string,
    query: Query,
    options: { limits?: Partial<QueryLimits>; now?: Date } = {},
  ): MongoCompilation {
    return compileMongoQuery(query, {
      projectId,
      now: (options.now ?? new Date()).getTime(),
      limits: resolveLimits(options.limits),
    });
  }

  async answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits>; now?: Date; signal?: AbortSignal },
  ): Promise<CompiledAnswer> {
    const compilation = this.compile(projectId, query, options);
    if ('declined' in compilation) return compilation;
    const { compiled } = compilation;
    const limits = resolveLimits(options.limits);
    let rows: Document[];
    try {
      rows = await this.events.aggregate(compiled.pipeline, {
        maxTimeMS: limits.deadlineMs,
        signal: options.signal,
      });
    } catch (e) {
      // The engine can still answer (and reports a deadline in its own words).
      return { declined: `MongoDB failed: ${(e as Error).message}` };
    }
    const unsure = rows.reduce((n, row) => n + Number(row[UNSURE] ?? 0), 0);
    if (unsure > 0)
      return { declined: `${unsure} events hold values the pipeline cannot judge as Keen does` };
    const result = shapeMongoRows(compiled, rows, limits);
    if (result === undefined)
      return { declined: 'over a limit the engine reports (groups, cells or values)' };
    return { response: { result } };
  }
}
