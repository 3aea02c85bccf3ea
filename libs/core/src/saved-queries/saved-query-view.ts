import { JsonObject, JsonValue } from '@app/events';
import { SavedQueryRecord } from '@app/storage';
import { nextRefreshAt } from './saved-query-rules';

/** A cached query's refresh state, in the definition (null for a plain saved query). */
export interface RunInformation {
  /** When the stored answer was computed; null before the first computation. */
  computed_at: string | null;
  /** When the refresher computes it next (in the past: due, computed within SAVED_QUERY_REFRESH_CHECK_MS). */
  next_refresh_at: string | null;
}

/** How one result was answered. */
export interface ResultRunInformation extends RunInformation {
  /** `cache`: the stored answer, no event read; `live`: computed for this request. */
  served_from: 'cache' | 'live';
  /**
   * Why a live answer: a plain saved query (`saved_query`), a cached query not
   * computed yet (`not_computed_yet`), or a key whose forced filters the stored
   * answer does not apply (`scoped_key`).
   */
  live_reason?: 'saved_query' | 'not_computed_yet' | 'scoped_key';
  /** 0 for a cached answer (no event was read for it); null for a live one (counted in the metrics only). */
  events_scanned: 0 | null;
}

/** Keen's saved query resource. */
export interface SavedQueryView {
  query_name: string;
  query: JsonObject;
  metadata: JsonObject;
  refresh_rate: number;
  created_date: string;
  last_modified_date: string;
  run_information: RunInformation | null;
  urls: { cached_query_url: string; cached_query_results_url: string };
}

/** `GET …/result`: the definition plus the answer's fields (`result`, and a funnel's `steps`/`actors`). */
export interface SavedQueryResultView extends Omit<SavedQueryView, 'run_information'> {
  result: JsonValue;
  steps?: JsonValue;
  actors?: JsonValue;
  run_information: ResultRunInformation;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function runInformationOf(record: SavedQueryRecord): RunInformation | null {
  if (record.refreshRate === 0) return null;
  const computedAt = record.cached?.computedAt ?? null;
  return {
    computed_at: iso(computedAt),
    next_refresh_at: iso(
      record.dueAt ?? (computedAt === null ? null : nextRefreshAt(record.refreshRate, computedAt)),
    ),
  };
}

export function toSavedQueryView(record: SavedQueryRecord): SavedQueryView {
  const url = `/3.0/projects/${encodeURIComponent(record.projectId)}/queries/saved/${encodeURIComponent(record.name)}`;
  return {
    query_name: record.name,
    query: record.query,
    metadata: record.metadata,
    refresh_rate: record.refreshRate,
    created_date: record.createdAt,
    last_modified_date: record.updatedAt,
    run_information: runInformationOf(record),
    urls: { cached_query_url: url, cached_query_results_url: `${url}/result` },
  };
}

/** The definition with an answer; `execution_metadata` stays out (run_information says how it was answered). */
export function toSavedQueryResultView(
  record: SavedQueryRecord,
  response: JsonObject,
  run: ResultRunInformation,
): SavedQueryResultView {
  const view: SavedQueryResultView = {
    ...toSavedQueryView(record),
    result: response.result ?? null,
    run_information: run,
  };
  if (response.steps !== undefined) view.steps = response.steps;
  if (response.actors !== undefined) view.actors = response.actors;
  return view;
}
