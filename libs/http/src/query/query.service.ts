import { Inject, Injectable } from '@nestjs/common';
import { TALLY_CONFIG, TallyConfig } from '@app/config';
import { JsonObject, TallyError } from '@app/events';
import { executeQuery, parseQuery, Query, QueryLimits, QueryResponse, streamExtraction } from '@app/query';
import { EVENT_STORE, EventStore } from '@app/storage';
import { ProjectQueryGate } from './project-query-gate';
import { cacheKey, ResultCache } from './result-cache';

// Transport parameters that are not part of the query itself.
const TRANSPORT_PARAMS = ['api_key', 'analysis_type'];

@Injectable()
export class QueryService {
  private readonly gate: ProjectQueryGate;
  private readonly cache: ResultCache<QueryResponse>;
  private readonly limits: Partial<QueryLimits>;

  constructor(
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(TALLY_CONFIG) private readonly config: TallyConfig,
  ) {
    this.gate = new ProjectQueryGate(config.query.maxConcurrentPerProject);
    this.cache = new ResultCache(config.query.cacheEntries);
    this.limits = {
      deadlineMs: config.query.deadlineMs,
      maxGroups: config.query.maxGroups,
      maxExtractionEvents: config.query.maxExtractionEvents,
    };
  }

  async run(projectId: string, analysisType: string, params: unknown, signal?: AbortSignal): Promise<QueryResponse> {
    const query = parseQuery(analysisType, this.clean(params));
    const key = query.max_age !== undefined ? cacheKey(projectId, query) : undefined;
    if (key) {
      const cached = this.cache.get(key, query.max_age!);
      if (cached) return cached;
    }
    const response = await this.gate.run(projectId, () =>
      executeQuery(query, this.events, { projectId, signal, limits: this.limits }),
    );
    if (key) this.cache.set(key, response);
    return response;
  }

  /** An extraction of any size as a stream of events (NDJSON), in constant memory. */
  streamExtraction(projectId: string, params: unknown, signal?: AbortSignal): AsyncIterable<JsonObject> {
    const query: Query = parseQuery('extraction', this.clean(params));
    return streamExtraction(query, this.events, { projectId, signal, limits: this.limits });
  }

  private clean(params: unknown): Record<string, unknown> {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      throw new TallyError('invalid', 'InvalidQueryError', 'Query parameters must be a JSON object.');
    }
    const clean: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    for (const name of TRANSPORT_PARAMS) delete clean[name];
    return clean;
  }
}
