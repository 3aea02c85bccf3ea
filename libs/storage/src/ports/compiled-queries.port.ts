import { Query, QueryLimits, QueryResponse } from '@app/query-engine';

/** The store's own answer, or why it declined (the TypeScript engine then answers). */
export type CompiledAnswer = { response: QueryResponse } | { declined: string };

/**
 * Queries a store answers with its own execution (the standalone server's
 * columnar copy, docs/storage-engine.md). Optional: a process without it, or
 * any query it declines, runs the TypeScript engine over the event scan, which
 * stays the reference for every answer.
 */
export interface CompiledQueries {
  answer(
    projectId: string,
    query: Query,
    options: { limits: Partial<QueryLimits> },
  ): Promise<CompiledAnswer>;
}

/** Nest token of the process's CompiledQueries (absent: every query takes the TypeScript engine). */
export const COMPILED_QUERIES = Symbol('COMPILED_QUERIES');
