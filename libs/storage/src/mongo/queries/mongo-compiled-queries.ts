import type { Document } from 'mongodb';
import { Query, QueryLimits, resolveLimits } from '@app/query-engine';
import { CompiledAnswer, CompiledQueries } from '../../ports/compiled-queries.port';
import { compileMongoQuery, MongoCompilation, UNSURE } from './mongo-query.compile';
import { shapeMongoRows } from './mongo-shape';
import { PropertyKinds } from './mongo-guards';
import { schemaKinds, SchemaReader } from './schema-kinds';

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
  /**
   * Without `schema`, every unsure-event test runs on every event (exact,
   * slower); with it, tests the counters rule out run only on events under a
   * write marker (see Guards).
   */
  constructor(
    private readonly events: MongoAggregator,
    private readonly schema?: SchemaReader,
  ) {}

  compile(
    projectId: string,
    query: Query,
    options: { limits?: Partial<QueryLimits>; now?: Date; kinds?: PropertyKinds } = {},
  ): MongoCompilation {
    return compileMongoQuery(query, {
      projectId,
      now: (options.now ?? new Date()).getTime(),
      limits: resolveLimits(options.limits),
      kinds: options.kinds,
    });
  }

  private kinds(projectId: string, query: Query): Promise<PropertyKinds | undefined> {
    if (!this.schema || query.analysis_type === 'funnel') return Promise.resolve(undefined);
    return schemaKinds(this.schema, projectId, query.event_collection);
  }

  async answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits>; now?: Date; signal?: AbortSignal },
  ): Promise<CompiledAnswer> {
    let compilation: MongoCompilation;
    try {
      compilation = this.compile(projectId, query, {
        ...options,
        kinds: await this.kinds(projectId, query),
      });
    } catch (e) {
      return { declined: `reading the schema counters failed: ${(e as Error).message}` };
    }
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
    try {
      const after = await this.kinds(projectId, query);
      if (after && compiled.guards.changed(after)) {
        return { declined: 'a property took a new kind of value while the pipeline ran' };
      }
    } catch (e) {
      return { declined: `reading the schema counters failed: ${(e as Error).message}` };
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
