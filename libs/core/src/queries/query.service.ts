import { TallyConfig } from '@app/config';
import { TallyError } from '@app/events';
import {
  EventSource,
  ExecuteContext,
  executeQuery,
  NdjsonChunk,
  parseQuery,
  Query,
  QueryErrorCode,
  QueryLimits,
  QueryResponse,
  streamExtraction,
  streamExtractionNdjson,
} from '@app/query-engine';
import { CompiledQueries, EventStore } from '@app/storage';
import {
  analysisLabel,
  errorCodeLabel,
  queryDuration,
  queryErrors,
  queryEventsScanned,
  queryPaths,
  secondsSince,
} from '../metrics';
import { ProjectQueryGate } from './project-query-gate';
import { cacheKey, ResultCache } from './result-cache';
import { applyScope, QueryScope } from './query-scope';

// Transport parameters that are not part of the query itself.
const TRANSPORT_PARAMS = ['api_key', 'analysis_type'];

/**
 * Which engine answered: the store's own (`compiled`, e.g. the standalone
 * server's columnar copy) or the TypeScript engine over the event scan
 * (`reference`). Answered in the `x-tally-query-path` header.
 */
export type QueryPath = 'compiled' | 'reference';

/**
 * A streamed extraction: its events as pages of JSON lines (each page
 * non-empty, oldest first), or as NDJSON pieces (streamExtractionNdjson), and
 * a signal that fires when its deadline passes.
 */
export interface ExtractionStream<Page = string[]> {
  pages: AsyncIterable<Page>;
  deadline: AbortSignal;
}

type Streamer<Page> = (
  query: Query,
  source: EventSource,
  ctx: ExecuteContext,
) => AsyncIterable<Page>;

export class QueryService {
  private readonly gate: ProjectQueryGate;
  private readonly cache: ResultCache<QueryResponse>;
  private readonly limits: Partial<QueryLimits>;

  constructor(
    private readonly events: EventStore,
    private readonly config: TallyConfig,
    private readonly compiled?: CompiledQueries,
  ) {
    this.gate = new ProjectQueryGate(config.query.maxConcurrentPerProject);
    this.cache = new ResultCache(config.query.cacheEntries);
    this.limits = {
      deadlineMs: config.query.deadlineMs,
      maxGroups: config.query.maxGroups,
      maxExtractionEvents: config.query.maxExtractionEvents,
      maxInValues: config.query.maxInValues,
    };
  }

  async run(
    projectId: string,
    analysisType: string,
    params: unknown,
    signal?: AbortSignal,
    onPath?: (path: QueryPath) => void,
    scope?: QueryScope,
  ): Promise<QueryResponse> {
    const analysis = analysisLabel(analysisType);
    const start = performance.now();
    try {
      return await this.runMeasured(
        projectId,
        analysisType,
        params,
        analysis,
        signal,
        onPath,
        scope,
      );
    } catch (error) {
      queryErrors.inc({ analysis, code: errorCodeLabel(error) });
      throw error;
    } finally {
      queryDuration.observe({ analysis }, secondsSince(start));
    }
  }

  private async runMeasured(
    projectId: string,
    analysisType: string,
    params: unknown,
    analysis: string,
    signal?: AbortSignal,
    onPath?: (path: QueryPath) => void,
    scope?: QueryScope,
  ): Promise<QueryResponse> {
    // The scope is added after parsing, so the cache key below includes it.
    const query = applyScope(parseQuery(analysisType, this.clean(params), this.limits), scope);
    const key = query.max_age !== undefined ? cacheKey(projectId, query) : undefined;
    if (key) {
      const cached = this.cache.get(key, query.max_age!);
      if (cached) return cached;
    }
    const response = await this.gate.run(projectId, async () => {
      const compiled = await this.compiled?.answer(projectId, query, { limits: this.limits });
      const path: QueryPath = compiled && 'response' in compiled ? 'compiled' : 'reference';
      queryPaths.inc({ analysis, path });
      onPath?.(path);
      const answer =
        compiled && 'response' in compiled
          ? compiled.response
          : await executeQuery(query, this.events, {
              projectId,
              signal,
              limits: this.limits,
              onScanned: (events) => queryEventsScanned.inc({ analysis }, events),
            });
      if (answer.execution_metadata) answer.execution_metadata.query_path = path;
      return answer;
    });
    if (key) this.cache.set(key, response);
    return response;
  }

  /**
   * An extraction of any size as a stream of events (NDJSON), in constant
   * memory. From its first pull to its end it holds one of the project's
   * query slots (429 when none is free), and it has a deadline
   * (QUERY_STREAM_DEADLINE_MS): `deadline` fires then, so the writer stops
   * even while it waits for a client that stopped reading, and the scan stops
   * at its next pause.
   */
  streamExtraction(
    projectId: string,
    params: unknown,
    signal?: AbortSignal,
    scope?: QueryScope,
  ): ExtractionStream {
    return this.stream(projectId, params, streamExtraction, signal, scope);
  }

  /**
   * The same stream as NDJSON pieces for a consumer that writes them out as
   * they come (the HTTP export): whole events may come as the store's text,
   * a page of lines at a time (see streamExtractionNdjson).
   */
  streamExtractionNdjson(
    projectId: string,
    params: unknown,
    signal?: AbortSignal,
    scope?: QueryScope,
  ): ExtractionStream<NdjsonChunk> {
    return this.stream(projectId, params, streamExtractionNdjson, signal, scope);
  }

  private stream<Page>(
    projectId: string,
    params: unknown,
    streamer: Streamer<Page>,
    signal?: AbortSignal,
    scope?: QueryScope,
  ): ExtractionStream<Page> {
    let query: Query;
    try {
      query = applyScope(parseQuery('extraction', this.clean(params), this.limits), scope);
    } catch (error) {
      queryErrors.inc({ analysis: 'extraction_stream', code: errorCodeLabel(error) });
      throw error;
    }
    const deadline = new AbortController();
    return {
      pages: this.gatedStream(projectId, query, streamer, deadline, signal),
      deadline: deadline.signal,
    };
  }

  private async *gatedStream<Page>(
    projectId: string,
    query: Query,
    streamer: Streamer<Page>,
    deadline: AbortController,
    client?: AbortSignal,
  ): AsyncGenerator<Page> {
    const analysis = 'extraction_stream';
    const start = performance.now();
    let release: () => void;
    try {
      release = this.gate.acquire(projectId);
    } catch (error) {
      queryErrors.inc({ analysis, code: errorCodeLabel(error) });
      throw error;
    }
    const ms = this.config.query.streamDeadlineMs;
    const timer = setTimeout(
      () =>
        deadline.abort(
          new TallyError(
            'timeout',
            QueryErrorCode.timeout,
            `extraction stream exceeded its time limit of ${ms} ms (QUERY_STREAM_DEADLINE_MS); ` +
              'narrow the timeframe or split the export',
          ),
        ),
      ms,
    );
    timer.unref();
    try {
      const signal = client ? AbortSignal.any([client, deadline.signal]) : deadline.signal;
      yield* streamer(query, this.events, {
        projectId,
        signal,
        deadlineMs: ms,
        limits: this.limits,
        onScanned: (events) => queryEventsScanned.inc({ analysis }, events),
      });
    } catch (error) {
      queryErrors.inc({ analysis, code: errorCodeLabel(error) });
      throw error;
    } finally {
      clearTimeout(timer);
      release();
      queryDuration.observe({ analysis }, secondsSince(start));
    }
  }

  private clean(params: unknown): Record<string, unknown> {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      throw new TallyError(
        'invalid',
        'InvalidQueryError',
        'Query parameters must be a JSON object.',
      );
    }
    const clean: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    for (const name of TRANSPORT_PARAMS) delete clean[name];
    return clean;
  }
}
