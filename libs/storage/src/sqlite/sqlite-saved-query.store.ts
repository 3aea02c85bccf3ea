import { JsonObject, parseJsonText } from '@app/events';
import { SqliteDatabase } from './sqlite-database';
import {
  CachedQueryResult,
  SavedQueryDefinition,
  SavedQueryPutOptions,
  SavedQueryPutOutcome,
  SavedQueryRecord,
  SavedQueryStore,
} from '../ports/saved-query-store.port';

interface Row {
  project: string;
  name: string;
  query: string;
  metadata: string;
  refresh_rate: number;
  created_at: string;
  updated_at: string;
  version: string;
  result: string | null;
  result_version: string | null;
  computed_at: number | null;
  due_at: number | null;
  lease_owner: string | null;
  lease_until: number;
}

/**
 * Saved queries in the standalone file (table from migration 5). Each
 * decision that must be exclusive (claim, save, release) is one statement or
 * one BEGIN IMMEDIATE transaction, which holds the file's write lock for every
 * connection and process.
 */
export class SqliteSavedQueryStore implements SavedQueryStore {
  constructor(private readonly db: SqliteDatabase) {}

  put(
    definition: SavedQueryDefinition,
    options: SavedQueryPutOptions,
  ): Promise<SavedQueryPutOutcome> {
    return this.db.write(() => {
      const existing = this.db.writer
        .prepare('SELECT created_at FROM saved_queries WHERE project = ? AND name = ?')
        .get(definition.projectId, definition.name) as { created_at: string } | undefined;
      if (!existing) {
        const { n } = this.db.writer
          .prepare('SELECT count(*) AS n FROM saved_queries WHERE project = ?')
          .get(definition.projectId) as { n: number };
        if (n >= options.maxPerProject) return 'over_limit';
      }
      this.db.writer
        .prepare(
          `INSERT OR REPLACE INTO saved_queries (project, name, query, metadata, refresh_rate, created_at,
             updated_at, version, result, result_version, computed_at, due_at, lease_owner, lease_until)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, NULL, 0)`,
        )
        .run(
          definition.projectId,
          definition.name,
          JSON.stringify(definition.query),
          JSON.stringify(definition.metadata),
          definition.refreshRate,
          existing?.created_at ?? definition.createdAt,
          definition.updatedAt,
          definition.version,
          options.dueAt,
        );
      return existing ? 'replaced' : 'created';
    });
  }

  async get(projectId: string, name: string): Promise<SavedQueryRecord | null> {
    const row = this.db.reader
      .prepare('SELECT * FROM saved_queries WHERE project = ? AND name = ?')
      .get(projectId, name) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async list(projectId: string): Promise<SavedQueryRecord[]> {
    // SQLite's default BINARY collation compares UTF-8 bytes; names are ASCII, so that is code-unit order.
    const rows = this.db.reader
      .prepare('SELECT * FROM saved_queries WHERE project = ? ORDER BY name')
      .all(projectId) as Row[];
    return rows.map(toRecord);
  }

  delete(projectId: string, name: string): Promise<boolean> {
    return this.db.write(
      () =>
        this.db.writer
          .prepare('DELETE FROM saved_queries WHERE project = ? AND name = ?')
          .run(projectId, name).changes === 1,
    );
  }

  requestRefresh(projectId: string, name: string, at: number): Promise<boolean> {
    return this.db.write(
      () =>
        this.db.writer
          .prepare(
            'UPDATE saved_queries SET due_at = ? WHERE project = ? AND name = ? AND refresh_rate > 0',
          )
          .run(at, projectId, name).changes === 1,
    );
  }

  claimDue(owner: string, now: number, leaseMs: number): Promise<SavedQueryRecord | null> {
    return this.db.write(() => {
      const row = this.db.writer
        .prepare(
          `SELECT * FROM saved_queries WHERE due_at IS NOT NULL AND due_at <= ? AND lease_until <= ?
           ORDER BY due_at, project, name LIMIT 1`,
        )
        .get(now, now) as Row | undefined;
      if (!row) return null;
      this.db.writer
        .prepare(
          'UPDATE saved_queries SET lease_owner = ?, lease_until = ? WHERE project = ? AND name = ?',
        )
        .run(owner, now + leaseMs, row.project, row.name);
      return toRecord({ ...row, lease_owner: owner, lease_until: now + leaseMs });
    });
  }

  saveResult(
    projectId: string,
    name: string,
    owner: string,
    result: CachedQueryResult,
    claimedAt: number,
    nextDueAt: number,
  ): Promise<boolean> {
    return this.db.write(
      () =>
        this.db.writer
          .prepare(
            `UPDATE saved_queries SET result = ?, result_version = version, computed_at = ?,
               due_at = CASE WHEN due_at > ? THEN due_at ELSE ? END, lease_owner = NULL, lease_until = 0
             WHERE project = ? AND name = ? AND lease_owner = ? AND version = ?`,
          )
          .run(
            JSON.stringify(result.response),
            result.computedAt,
            claimedAt,
            nextDueAt,
            projectId,
            name,
            owner,
            result.version,
          ).changes === 1,
    );
  }

  async release(projectId: string, name: string, owner: string, retryAt: number): Promise<void> {
    await this.db.write(() =>
      this.db.writer
        .prepare(
          `UPDATE saved_queries SET lease_owner = NULL, lease_until = 0,
             due_at = CASE WHEN due_at IS NULL THEN NULL ELSE ? END
           WHERE project = ? AND name = ? AND lease_owner = ?`,
        )
        .run(retryAt, projectId, name, owner),
    );
  }
}

function toRecord(row: Row): SavedQueryRecord {
  return {
    projectId: row.project,
    name: row.name,
    // Stored by us from bodies the safe parser accepted; read back through it all the same.
    query: parseJsonText(row.query, 'A stored saved query') as JsonObject,
    metadata: parseJsonText(row.metadata, "A stored saved query's metadata") as JsonObject,
    refreshRate: row.refresh_rate,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    cached:
      row.result !== null && row.result_version === row.version && row.computed_at !== null
        ? {
            version: row.result_version,
            response: parseJsonText(row.result, 'A stored query result') as JsonObject,
            computedAt: row.computed_at,
          }
        : null,
    dueAt: row.due_at,
    leaseUntil: row.lease_until,
    leaseOwner: row.lease_owner,
  };
}
