import { Inject, Injectable } from '@nestjs/common';
import { TallyError } from '@app/events';
import { executeQuery, parseQuery, QueryResponse } from '@app/query';
import { EVENT_STORE, EventStore } from '@app/storage';

// Transport parameters that are not part of the query itself.
const TRANSPORT_PARAMS = ['api_key', 'analysis_type'];

@Injectable()
export class QueryService {
  constructor(@Inject(EVENT_STORE) private readonly events: EventStore) {}

  run(projectId: string, analysisType: string, params: unknown): Promise<QueryResponse> {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      throw new TallyError('invalid', 'InvalidQueryError', 'Query parameters must be a JSON object.');
    }
    const clean: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    for (const name of TRANSPORT_PARAMS) delete clean[name];
    const query = parseQuery(analysisType, clean);
    return executeQuery(query, this.events, { projectId });
  }
}
