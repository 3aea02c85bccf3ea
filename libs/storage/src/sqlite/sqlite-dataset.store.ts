import { JsonValue, parseJsonText } from '@app/events';
import {
  BucketRow,
  CollectionChange,
  DatasetDefinition,
  DatasetStore,
  DirtyBucket,
  StoredChange,
} from '../ports/dataset-store.port';
import type { Statement } from 'better-sqlite3';
import { SqliteDatabase } from './sqlite-database';

const parse = (text: string, what: string) => parseJsonText(text, what);

/** The DatasetStore port in the events' SQLite file (tables of migration 6). */
export class SqliteDatasetStore implements DatasetStore {
  /**
   * recordChanges runs in every group commit of the write path: its two
   * statements are prepared once (preparing costs more than running them).
   */
  private changeStatements: { watched: Statement; insert: Statement } | null = null;

  constructor(private readonly db: SqliteDatabase) {}

  async putDefinition(d: DatasetDefinition): Promise<boolean> {
    return this.db.write(() => {
      const existed = this.db.writer
        .prepare('SELECT 1 FROM datasets WHERE project = ? AND name = ?')
        .get(d.projectId, d.name);
      if (existed) this.dropData(d.projectId, d.name);
      this.db.writer
        .prepare(
          `INSERT INTO datasets (project, name, collection, definition) VALUES (?, ?, ?, ?)
           ON CONFLICT (project, name) DO UPDATE SET collection = excluded.collection, definition = excluded.definition`,
        )
        .run(d.projectId, d.name, d.collection, JSON.stringify(d));
      return !existed;
    });
  }

  async getDefinition(projectId: string, name: string): Promise<DatasetDefinition | null> {
    const row = this.db.reader
      .prepare('SELECT definition FROM datasets WHERE project = ? AND name = ?')
      .get(projectId, name) as { definition: string } | undefined;
    return row ? (parse(row.definition, 'A stored dataset') as unknown as DatasetDefinition) : null;
  }

  async listDefinitions(projectId?: string): Promise<DatasetDefinition[]> {
    const rows = (
      projectId === undefined
        ? this.db.reader.prepare('SELECT definition FROM datasets ORDER BY project, name').all()
        : this.db.reader
            .prepare('SELECT definition FROM datasets WHERE project = ? ORDER BY name')
            .all(projectId)
    ) as { definition: string }[];
    return rows.map((r) => parse(r.definition, 'A stored dataset') as unknown as DatasetDefinition);
  }

  async deleteDefinition(projectId: string, name: string): Promise<boolean> {
    return this.db.write(() => {
      const { changes } = this.db.writer
        .prepare('DELETE FROM datasets WHERE project = ? AND name = ?')
        .run(projectId, name);
      this.dropData(projectId, name);
      return changes > 0;
    });
  }

  private dropData(projectId: string, name: string): void {
    this.db.writer
      .prepare('DELETE FROM dataset_rows WHERE project = ? AND name = ?')
      .run(projectId, name);
    this.db.writer
      .prepare('DELETE FROM dataset_dirty WHERE project = ? AND name = ?')
      .run(projectId, name);
  }

  async watchedCollections(): Promise<{ projectId: string; collection: string }[]> {
    return this.db.reader
      .prepare('SELECT DISTINCT project AS projectId, collection FROM datasets')
      .all() as { projectId: string; collection: string }[];
  }

  /**
   * Only for collections that have a dataset, decided on the connection that
   * writes (in the writer thread, inside the write's transaction), so no
   * cache can be stale.
   */
  async recordChanges(projectId: string, changes: CollectionChange[]): Promise<void> {
    if (changes.length === 0) return;
    await this.db.write(() => {
      this.changeStatements ??= {
        watched: this.db.writer.prepare(
          'SELECT 1 FROM datasets WHERE project = ? AND collection = ? LIMIT 1',
        ),
        insert: this.db.writer.prepare(
          'INSERT INTO dataset_changes (project, collection, from_ms, to_ms) VALUES (?, ?, ?, ?)',
        ),
      };
      const { watched, insert } = this.changeStatements;
      const seen = new Map<string, boolean>();
      for (const c of changes) {
        let isWatched = seen.get(c.collection);
        if (isWatched === undefined) {
          isWatched = watched.get(projectId, c.collection) !== undefined;
          seen.set(c.collection, isWatched);
        }
        if (isWatched) insert.run(projectId, c.collection, c.fromMs, c.toMs);
      }
    });
  }

  async readChanges(limit: number): Promise<StoredChange[]> {
    const rows = this.db.reader
      .prepare(
        `SELECT id, project AS projectId, collection, from_ms AS fromMs, to_ms AS toMs
         FROM dataset_changes ORDER BY id LIMIT ?`,
      )
      .all(limit) as (Omit<StoredChange, 'id'> & { id: number })[];
    return rows.map((r) => ({ ...r, id: String(r.id) }));
  }

  async dropChanges(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.write(() => {
      const drop = this.db.writer.prepare('DELETE FROM dataset_changes WHERE id = ?');
      for (const id of ids) drop.run(Number(id));
    });
  }

  async markDirty(
    projectId: string,
    name: string,
    buckets: { startMs: number; endMs: number }[],
  ): Promise<void> {
    if (buckets.length === 0) return;
    await this.db.write(() => {
      const mark = this.db.writer.prepare(
        `INSERT INTO dataset_dirty (project, name, start_ms, end_ms, seq) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (project, name, start_ms) DO UPDATE SET seq = seq + 1, end_ms = excluded.end_ms`,
      );
      for (const b of buckets) mark.run(projectId, name, b.startMs, b.endMs);
    });
  }

  async leaseDirty(limit: number, leaseMs: number, now: number): Promise<DirtyBucket[]> {
    return this.db.write(() => {
      const rows = this.db.writer
        .prepare(
          `SELECT project AS projectId, name, start_ms AS startMs, end_ms AS endMs, seq
           FROM dataset_dirty WHERE lease_until <= ? ORDER BY project, name, start_ms LIMIT ?`,
        )
        .all(now, limit) as DirtyBucket[];
      const lease = this.db.writer.prepare(
        'UPDATE dataset_dirty SET lease_until = ? WHERE project = ? AND name = ? AND start_ms = ?',
      );
      for (const b of rows) lease.run(now + leaseMs, b.projectId, b.name, b.startMs);
      return rows;
    });
  }

  async finishBucket(bucket: DirtyBucket, rows: BucketRow[]): Promise<void> {
    const { projectId, name, startMs, seq } = bucket;
    await this.db.write(() => {
      const exists = this.db.writer
        .prepare('SELECT 1 FROM datasets WHERE project = ? AND name = ?')
        .get(projectId, name);
      if (!exists) {
        // A mark of a dataset that is gone (marked after its delete): drop it,
        // or it would be leased again each time its lease expires.
        this.db.writer
          .prepare('DELETE FROM dataset_dirty WHERE project = ? AND name = ? AND start_ms = ?')
          .run(projectId, name, startMs);
        return;
      }
      this.db.writer
        .prepare('DELETE FROM dataset_rows WHERE project = ? AND name = ? AND start_ms = ?')
        .run(projectId, name, startMs);
      const insert = this.db.writer.prepare(
        'INSERT INTO dataset_rows (project, name, index_key, start_ms, value) VALUES (?, ?, ?, ?, ?)',
      );
      for (const r of rows)
        insert.run(projectId, name, r.indexKey, startMs, JSON.stringify(r.value));
      const { changes } = this.db.writer
        .prepare(
          'DELETE FROM dataset_dirty WHERE project = ? AND name = ? AND start_ms = ? AND seq = ?',
        )
        .run(projectId, name, startMs, seq);
      if (changes === 0) {
        this.db.writer
          .prepare(
            'UPDATE dataset_dirty SET lease_until = 0 WHERE project = ? AND name = ? AND start_ms = ?',
          )
          .run(projectId, name, startMs);
      }
    });
  }

  async countDirty(projectId: string, name: string): Promise<number> {
    const row = this.db.reader
      .prepare('SELECT count(*) AS n FROM dataset_dirty WHERE project = ? AND name = ?')
      .get(projectId, name) as { n: number };
    return row.n;
  }

  async readRows(
    projectId: string,
    name: string,
    indexKey: string,
    fromMs: number,
    toMs: number,
  ): Promise<{ startMs: number; value: JsonValue }[]> {
    const rows = this.db.reader
      .prepare(
        `SELECT start_ms AS startMs, value FROM dataset_rows
         WHERE project = ? AND name = ? AND index_key = ? AND start_ms >= ? AND start_ms < ?
         ORDER BY start_ms`,
      )
      .all(projectId, name, indexKey, fromMs, toMs) as { startMs: number; value: string }[];
    return rows.map((r) => ({
      startMs: r.startMs,
      value: parse(r.value, 'A dataset value') as JsonValue,
    }));
  }

  async pruneBefore(projectId: string, name: string, beforeMs: number): Promise<void> {
    await this.db.write(() => {
      this.db.writer
        .prepare('DELETE FROM dataset_rows WHERE project = ? AND name = ? AND start_ms < ?')
        .run(projectId, name, beforeMs);
      this.db.writer
        .prepare('DELETE FROM dataset_dirty WHERE project = ? AND name = ? AND start_ms < ?')
        .run(projectId, name, beforeMs);
    });
  }
}
