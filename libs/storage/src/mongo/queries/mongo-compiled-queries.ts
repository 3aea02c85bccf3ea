import type { Document } from 'mongodb';
import { executionMetadata, Query, QueryLimits, resolveLimits } from '@app/query-engine';
import { CompiledAnswer, CompiledQueries } from '../../ports/compiled-queries.port';
import { compileMongoQuery, MongoCompilation, SecondPass, UNSURE } from './mongo-query.compile';
import { shapeMongoRows } from './mongo-shape';
import { SchemaView } from './mongo-guards';
import { schemaView, SchemaReader } from './schema-kinds';

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
   * slower); with it, tests the counters rule out run only on events whose
   * counters may not be applied yet (see Guards).
   */
  constructor(
    private readonly events: MongoAggregator,
    private readonly schema?: SchemaReader,
  ) {}

  compile(
    projectId: string,
    query: Query,
    options: { limits?: Partial<QueryLimits>; now?: Date; schema?: SchemaView } = {},
  ): MongoCompilation {
    return compileMongoQuery(query, {
      projectId,
      now: (options.now ?? new Date()).getTime(),
      limits: resolveLimits(options.limits),
      schema: options.schema,
    });
  }

  private view(projectId: string, query: Query): Promise<SchemaView | undefined> {
    if (!this.schema || query.analysis_type === 'funnel') return Promise.resolve(undefined);
    return schemaView(this.schema, projectId, query.event_collection);
  }

  async answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits>; now?: Date; signal?: AbortSignal },
  ): Promise<CompiledAnswer> {
    const startedAt = Date.now();
    // Without any type test to trim (a count, a sum by a time bucket), the
    // schema counters are not read at all.
    let compilation = this.compile(projectId, query, options);
    if ('compiled' in compilation && compilation.compiled.guards.any()) {
      try {
        const schema = await this.view(projectId, query);
        if (schema) compilation = this.compile(projectId, query, { ...options, schema });
      } catch (e) {
        return { declined: `reading the schema counters failed: ${(e as Error).message}` };
      }
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
      const after = compiled.guards.trusts() ? await this.view(projectId, query) : undefined;
      if (after && compiled.guards.changed(after)) {
        return {
          declined: 'the events changed in a way the counters did not show when the pipeline began',
        };
      }
    } catch (e) {
      return { declined: `reading the schema counters failed: ${(e as Error).message}` };
    }
    const unsure = rows.reduce((n, row) => n + Number(row[UNSURE] ?? 0), 0);
    if (unsure > 0)
      return { declined: `${unsure} events hold values the pipeline cannot judge as Keen does` };
    if (compiled.second && rows.length > 0) {
      let value: number | null | undefined;
      try {
        value = await this.secondPass(compiled.second, rows[0], limits, options.signal);
      } catch (e) {
        return { declined: `MongoDB failed: ${(e as Error).message}` };
      }
      if (value === undefined) return { declined: 'the events changed between the two passes' };
      rows = [{ ...rows[0], m0: value }];
    }
    const result = shapeMongoRows(compiled, rows, limits);
    if (result === undefined)
      return { declined: 'over a limit the engine reports (groups, cells or values)' };
    if (!compiled.scanned) return { response: { result } };
    let counted: Document[];
    try {
      counted = await this.events.aggregate([{ $match: compiled.scanned }, { $count: 'n' }], {
        maxTimeMS: limits.deadlineMs,
        signal: options.signal,
      });
    } catch (e) {
      return { declined: `MongoDB failed: ${(e as Error).message}` };
    }
    const eventsScanned = Number(counted[0]?.n ?? 0);
    return {
      response: {
        result,
        execution_metadata: executionMetadata(query, { startedAt, eventsScanned }),
      },
    };
  }

  /**
   * The second pipeline of a median, percentile or standard deviation
   * (compileTwoPass), given the first one's count `n` (and sum `s`) of the
   * target's numbers. It counts them again in the same read (a `$facet`
   * beside the ranking, a field beside the spread); a different count means
   * events were written or deleted between the passes: undefined, and the
   * engine answers.
   */
  private async secondPass(
    second: SecondPass,
    first: Document,
    limits: QueryLimits,
    signal?: AbortSignal,
  ): Promise<number | null | undefined> {
    const n = Number(first.n ?? 0);
    if (n === 0) return null;
    const run = (pipeline: Document[]) =>
      this.events.aggregate(pipeline, { maxTimeMS: limits.deadlineMs, signal });
    if (second.kind === 'standard_deviation') {
      const mean = Number(first.s) / n;
      const isNull = { $eq: [second.value, null] };
      const [row] = await run([
        second.match,
        {
          $group: {
            _id: null,
            n: { $sum: { $cond: [isNull, 0, 1] } },
            ss: {
              $sum: { $cond: [isNull, 0, { $pow: [{ $subtract: [second.value, mean] }, 2] }] },
            },
          },
        },
      ]);
      if (Number(row?.n ?? 0) !== n) return undefined;
      return Math.sqrt(Number(row.ss) / n);
    }
    // PercentileAccumulator's definition: rank = p/100 · (n − 1), interpolated.
    const rank = ((second.percentile ?? 50) / 100) * (n - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    const [row] = await run([
      second.match,
      { $project: { _id: 0, x: second.value } },
      { $match: { x: { $ne: null } } },
      {
        $facet: {
          total: [{ $count: 'n' }],
          picked: [{ $sort: { x: 1 } }, { $skip: lo }, { $limit: hi - lo + 1 }],
        },
      },
    ]);
    if (Number(row?.total?.[0]?.n ?? 0) !== n) return undefined;
    const picked = (row.picked as { x: number }[]).map((d) => Number(d.x));
    if (lo === hi) return picked[0];
    return picked[0] + (picked[picked.length - 1] - picked[0]) * (rank - lo);
  }
}
