import { randomUUID } from 'node:crypto';
import { JsonObject, TallyError } from '@app/events';
import { QueryLimits } from '@app/query-engine';
import { SavedQueryRecord, SavedQueryStore } from '@app/storage';
import { QueryScope } from '../queries/query-scope';
import { QueryService } from '../queries/query.service';
import { assertSavedQueryName, parseSavedQueryBody } from './saved-query-rules';
import {
  ResultRunInformation,
  runInformationOf,
  SavedQueryResultView,
  SavedQueryView,
  toSavedQueryResultView,
  toSavedQueryView,
} from './saved-query-view';

/** What the saved queries need from the query service: running one query (with a key's scope). */
export type SavedQueryRunner = Pick<QueryService, 'run'>;

export interface SavedQueriesOptions {
  /** SAVED_QUERIES_MAX_PER_PROJECT. */
  maxPerProject: number;
  /** The query engine limits a definition is checked against when saved. */
  limits: Partial<QueryLimits>;
}

/**
 * Decides, once the definition is known, whether the caller may have its
 * result (a saved or a cached query need different rights) and returns the
 * key's query scope. Given by the HTTP layer, which knows the key.
 */
export type ResultAccess = (record: SavedQueryRecord) => QueryScope;

export const notFound = (name: string) =>
  new TallyError(
    'not_found',
    'ResourceNotFoundError',
    `Resource not found: no saved query named "${name.slice(0, 100)}" in this project.`,
  );

/**
 * Keen's saved and cached queries over the SavedQueryStore port: CRUD, and
 * the result, from the stored answer of a cached query (no event read) or
 * computed live by the query service.
 */
export class SavedQueriesService {
  constructor(
    private readonly store: SavedQueryStore,
    private readonly runner: SavedQueryRunner,
    private readonly options: SavedQueriesOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async list(projectId: string): Promise<SavedQueryView[]> {
    return (await this.store.list(projectId)).map(toSavedQueryView);
  }

  async get(projectId: string, name: string): Promise<SavedQueryView> {
    return toSavedQueryView(await this.require(projectId, name));
  }

  /** Creates or replaces; a cached query is due at once, so its first answer comes with the next check. */
  async put(
    projectId: string,
    name: string,
    body: unknown,
  ): Promise<{ created: boolean; view: SavedQueryView }> {
    assertSavedQueryName(name);
    const input = parseSavedQueryBody(name, body, this.options.limits);
    const now = this.now();
    const at = new Date(now).toISOString();
    const outcome = await this.store.put(
      {
        projectId,
        name,
        query: input.query,
        metadata: input.metadata,
        refreshRate: input.refreshRate,
        createdAt: at,
        updatedAt: at,
        version: randomUUID(),
      },
      { maxPerProject: this.options.maxPerProject, dueAt: input.refreshRate > 0 ? now : null },
    );
    if (outcome === 'over_limit') {
      throw new TallyError(
        'forbidden',
        'OverSavedQueryLimitError',
        `This project has ${this.options.maxPerProject} saved queries, the most it may hold ` +
          '(SAVED_QUERIES_MAX_PER_PROJECT); delete one before creating another.',
      );
    }
    return { created: outcome === 'created', view: await this.get(projectId, name) };
  }

  async delete(projectId: string, name: string): Promise<void> {
    assertSavedQueryName(name);
    if (!(await this.store.delete(projectId, name))) throw notFound(name);
  }

  /**
   * The definition with its answer. A cached query's stored answer is served
   * as it is, unless the caller's key forces filters (it was computed without
   * any key's): then, like a plain saved query, it is computed for this
   * request, with the key's scope.
   */
  async result(
    projectId: string,
    name: string,
    access: ResultAccess,
    signal?: AbortSignal,
  ): Promise<SavedQueryResultView> {
    const record = await this.require(projectId, name);
    const scope = access(record);
    const base = runInformationOf(record) ?? { computed_at: null, next_refresh_at: null };
    const scoped = scope.filters.length > 0;
    if (record.cached && !scoped) {
      const served: ResultRunInformation = { ...base, served_from: 'cache', events_scanned: 0 };
      return toSavedQueryResultView(record, record.cached.response, served);
    }
    const response = await this.runner.run(
      projectId,
      String(record.query.analysis_type),
      record.query,
      signal,
      undefined,
      scope,
    );
    const live: ResultRunInformation = {
      ...base,
      served_from: 'live',
      live_reason:
        record.refreshRate === 0 ? 'saved_query' : scoped ? 'scoped_key' : 'not_computed_yet',
      events_scanned: null,
    };
    return toSavedQueryResultView(record, response as unknown as JsonObject, live);
  }

  /** An operator's forced refresh: the cached query is due now (computed within one refresh check). */
  async requestRefresh(projectId: string, name: string): Promise<SavedQueryView> {
    const record = await this.require(projectId, name);
    if (
      record.refreshRate === 0 ||
      !(await this.store.requestRefresh(projectId, name, this.now()))
    ) {
      throw new TallyError(
        'invalid',
        'InvalidSavedQueryError',
        `"${name}" is a saved query (refresh_rate 0), computed on every request; only cached queries are refreshed.`,
      );
    }
    return this.get(projectId, name);
  }

  private async require(projectId: string, name: string): Promise<SavedQueryRecord> {
    assertSavedQueryName(name);
    const record = await this.store.get(projectId, name);
    if (!record) throw notFound(name);
    return record;
  }
}
