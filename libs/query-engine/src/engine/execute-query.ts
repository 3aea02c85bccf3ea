import { EventSource } from '../event-source.port';
import { badParam } from '../query-errors';
import { ExtractionQuery, Query, QueryResponse } from '../query.types';
import { executionMetadata } from './execution-metadata';
import { ExecuteContext, QueryRun } from './query-run';
import { extractionLines, extractionNdjson, NdjsonChunk, runExtraction } from './run-extraction';
import { runFunnel } from './run-funnel';
import { runMetrics } from './run-metrics';

/**
 * Runs a parsed query against a store and answers in Keen's exact shapes.
 * Errors are TallyErrors: 400 for a limit the query would exceed, 504
 * (QueryTimeoutError) when the deadline passes or the signal aborts.
 */
export async function executeQuery(
  query: Query,
  source: EventSource,
  ctx: ExecuteContext,
): Promise<QueryResponse> {
  const run = new QueryRun(ctx);
  try {
    let response: QueryResponse;
    switch (query.analysis_type) {
      case 'funnel':
        response = await runFunnel(query, source, run);
        break;
      case 'extraction':
        response = { result: await runExtraction(query, source, run) };
        break;
      default:
        response = { result: await runMetrics(query, source, run) };
    }
    if (query.include_metadata) response.execution_metadata = executionMetadata(query, run);
    return response;
  } finally {
    run.close();
    ctx.onScanned?.(run.eventsScanned);
  }
}

/**
 * Extraction as a stream of pages of JSON lines, one (projected) event each,
 * for NDJSON export:
 * constant memory without `latest`, no size limit, and a deadline only when
 * ctx.deadlineMs is given (exports legitimately run long). The deadline is
 * checked while the stream is pulled; a consumer that stops pulling must
 * enforce its own (the HTTP layer does). Every page holds at least one event.
 */
export function streamExtraction(
  query: Query,
  source: EventSource,
  ctx: ExecuteContext,
): AsyncIterable<string[]> {
  if (query.analysis_type !== 'extraction') {
    throw badParam(`streaming export needs an extraction query, not ${query.analysis_type}`);
  }
  return runStream(query, source, ctx, extractionLines);
}

/**
 * The same export as NDJSON pieces, for a consumer that only writes them out
 * (the HTTP export): whole events come as the store's text when it offers
 * it (extractionNdjson), with the same order, deadline and cancellation.
 */
export function streamExtractionNdjson(
  query: Query,
  source: EventSource,
  ctx: ExecuteContext,
): AsyncIterable<NdjsonChunk> {
  if (query.analysis_type !== 'extraction') {
    throw badParam(`streaming export needs an extraction query, not ${query.analysis_type}`);
  }
  return runStream(query, source, ctx, extractionNdjson);
}

async function* runStream<T>(
  query: ExtractionQuery,
  source: EventSource,
  ctx: ExecuteContext,
  pieces: (query: ExtractionQuery, source: EventSource, run: QueryRun) => AsyncIterable<T>,
): AsyncGenerator<T> {
  // Created on the first pull, so a stream never started holds no slice.
  const run = new QueryRun(ctx, false);
  try {
    yield* pieces(query, source, run);
  } finally {
    run.close();
    ctx.onScanned?.(run.eventsScanned);
  }
}
