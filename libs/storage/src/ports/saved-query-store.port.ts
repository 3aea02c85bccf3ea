import { JsonObject } from '@app/events';

/** A saved query as its owner defined it (Keen's `PUT …/queries/saved/:name` body, validated). */
export interface SavedQueryDefinition {
  projectId: string;
  name: string;
  /** The query with its `analysis_type`, as accepted (parsed by the query engine at save time). */
  query: JsonObject;
  /** Free-form client data (Keen's Explorer keeps `display_name` and chart settings here). */
  metadata: JsonObject;
  /** Seconds between background computations; 0: a plain saved query, computed per request. */
  refreshRate: number;
  /** ISO-8601; kept from the first put when a definition is replaced. */
  createdAt: string;
  /** ISO-8601 of this put. */
  updatedAt: string;
  /**
   * A fresh token per put. A result is stored and served only for the version
   * it was computed from, so a computation that started before a replace can
   * never land on (or be served for) the new definition.
   */
  version: string;
}

/** A cached query's stored answer. */
export interface CachedQueryResult {
  /** The definition version it was computed from. */
  version: string;
  /** The query's answer as the query service returned it (`{result, …}`). */
  response: JsonObject;
  /** When the computation finished (epoch ms). */
  computedAt: number;
}

export interface SavedQueryRecord extends SavedQueryDefinition {
  /** The latest stored answer of the current version; null before the first computation. */
  cached: CachedQueryResult | null;
  /** When the refresher next computes it (epoch ms); null for a plain saved query. */
  dueAt: number | null;
  /** Epoch ms until which `leaseOwner` alone may compute it; 0 or past: free. */
  leaseUntil: number;
  leaseOwner: string | null;
}

export type SavedQueryPutOutcome = 'created' | 'replaced' | 'over_limit';

export interface SavedQueryPutOptions {
  /** Saved queries a project may hold; a create past it is refused ('over_limit'). */
  maxPerProject: number;
  /** When the new definition is first computed (epoch ms); null for a plain saved query. */
  dueAt: number | null;
}

/**
 * Saved and cached queries per project, beside the other metadata (SQLite in
 * the standalone file, MongoDB in split deployments). Every refresh decision
 * is one conditional write on one record (claim: due and unleased; save and
 * release: still ours), so several query processes can run the refresher and
 * exactly one computes a query at a time; a lease that its owner never gives
 * back (a crash) simply expires.
 */
export interface SavedQueryStore {
  /**
   * Creates or replaces a definition. A replace keeps `createdAt`, drops the
   * stored answer and any lease, and makes it due at `options.dueAt`.
   */
  put(
    definition: SavedQueryDefinition,
    options: SavedQueryPutOptions,
  ): Promise<SavedQueryPutOutcome>;
  get(projectId: string, name: string): Promise<SavedQueryRecord | null>;
  /** A project's saved queries, by name (code-unit order). */
  list(projectId: string): Promise<SavedQueryRecord[]>;
  /** False when there was no such query. */
  delete(projectId: string, name: string): Promise<boolean>;
  /**
   * Makes a cached query due at `at` (an operator's forced refresh); a
   * computation already under way keeps its lease, and the query is computed
   * again after it. False for an unknown or plain saved query.
   */
  requestRefresh(projectId: string, name: string, at: number): Promise<boolean>;
  /**
   * Leases the most overdue cached query (due at or before `now`, lease free
   * or expired) to `owner` until `now + leaseMs`; null when none is due.
   */
  claimDue(owner: string, now: number, leaseMs: number): Promise<SavedQueryRecord | null>;
  /**
   * Stores an answer and frees the lease, if `owner` still holds it and the
   * definition is still `result.version`; false otherwise (nothing written).
   * The query is next due at `nextDueAt`, unless a refresh was requested after
   * `claimedAt`.
   */
  saveResult(
    projectId: string,
    name: string,
    owner: string,
    result: CachedQueryResult,
    claimedAt: number,
    nextDueAt: number,
  ): Promise<boolean>;
  /** Gives a lease back (a failed computation); due again at `retryAt`. No-op unless `owner` holds it. */
  release(projectId: string, name: string, owner: string, retryAt: number): Promise<void>;
}
