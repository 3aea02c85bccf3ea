import type { Statement } from 'better-sqlite3';
import { parseJsonText, TallyError } from '@app/events';
import { SchemaCounter, SchemaDelta } from '@app/schema';
import {
  CappedCollection,
  KeyAccess,
  KeyChanges,
  MetadataStore,
  Project,
  ProjectRetention,
  SchemaCapState,
  StoredKey,
  UnitOfWork,
} from '../ports/metadata-store.port';
import { SqliteDatabase } from './sqlite-database';

const KEY_COLUMNS =
  'project_id AS projectId, key_hash AS keyHash, role, created_at AS createdAt, name, active, access';

interface KeyRow {
  projectId: string;
  keyHash: string;
  role: StoredKey['role'];
  createdAt: string;
  name: string | null;
  active: number;
  access: string | null;
}

function keyFromRow(row: KeyRow): StoredKey {
  const key: StoredKey = {
    projectId: row.projectId,
    keyHash: row.keyHash,
    role: row.role,
    createdAt: row.createdAt,
  };
  if (row.name !== null) key.name = row.name;
  if (row.active === 0) key.active = false;
  if (row.access !== null)
    key.access = parseJsonText(row.access, 'A stored key') as unknown as KeyAccess;
  return key;
}

const INSERT_KEY =
  'INSERT OR IGNORE INTO api_keys (key_hash, project_id, role, created_at, name, active, access) VALUES (?, ?, ?, ?, ?, ?, ?)';

function keyValues(k: StoredKey): unknown[] {
  return [
    k.keyHash,
    k.projectId,
    k.role,
    k.createdAt,
    k.name ?? null,
    k.active === false ? 0 : 1,
    k.access ? JSON.stringify(k.access) : null,
  ];
}

const RETENTION_PREFIX = 'retention/';
/** The first name after every 'retention/…' one ('0' follows '/'). */
const RETENTION_END = 'retention0';

export class SqliteMetadataStore implements MetadataStore {
  /** The write path's statements, prepared once per connection (preparing cost more than running them). */
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: SqliteDatabase) {}

  private writerStatement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.writer.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async createProject(project: Project, keys: StoredKey[]): Promise<void> {
    await this.db.transaction(async () => {
      // The same refusal as the MongoDB adapter's (and a real Error, which
      // better-sqlite3's own error object is not in every realm).
      const { changes } = this.db.writer
        .prepare('INSERT OR IGNORE INTO projects (id, name, created_at) VALUES (?, ?, ?)')
        .run(project.id, project.name, project.createdAt);
      if (changes === 0) {
        throw new TallyError(
          'conflict',
          'ProjectExistsError',
          `project ${project.id} already exists`,
        );
      }
      const addKey = this.db.writer.prepare(INSERT_KEY.replace(' OR IGNORE', ''));
      for (const k of keys) addKey.run(...keyValues(k));
    });
  }

  async getProject(projectId: string): Promise<Project | null> {
    const row = this.db.reader
      .prepare('SELECT id, name, created_at AS createdAt FROM projects WHERE id = ?')
      .get(projectId) as Project | undefined;
    return row ?? null;
  }

  async listProjects(): Promise<Project[]> {
    return this.db.reader
      .prepare('SELECT id, name, created_at AS createdAt FROM projects ORDER BY created_at, id')
      .all() as Project[];
  }

  async listKeys(): Promise<StoredKey[]> {
    const rows = this.db.reader.prepare(`SELECT ${KEY_COLUMNS} FROM api_keys`).all() as KeyRow[];
    return rows.map(keyFromRow);
  }

  async addKey(key: StoredKey): Promise<void> {
    const changes = await this.db.write(
      () => this.db.writer.prepare(INSERT_KEY).run(...keyValues(key)).changes,
    );
    if (changes === 0) throw keyExists();
  }

  async updateKey(
    projectId: string,
    keyHash: string,
    changes: KeyChanges,
  ): Promise<StoredKey | null> {
    return this.db.write(() => {
      const sets: string[] = [];
      const values: unknown[] = [];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        values.push(value);
      };
      if (changes.name !== undefined) set('name', changes.name);
      if (changes.active !== undefined) set('active', changes.active ? 1 : 0);
      if (changes.access !== undefined) set('access', JSON.stringify(changes.access));
      if (sets.length > 0) {
        this.db.writer
          .prepare(`UPDATE api_keys SET ${sets.join(', ')} WHERE project_id = ? AND key_hash = ?`)
          .run(...values, projectId, keyHash);
      }
      const row = this.db.writer
        .prepare(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE project_id = ? AND key_hash = ?`)
        .get(projectId, keyHash) as KeyRow | undefined;
      return row ? keyFromRow(row) : null;
    });
  }

  async revokeKey(projectId: string, keyHash: string): Promise<boolean> {
    const changes = await this.db.write(
      () =>
        this.db.writer
          .prepare('DELETE FROM api_keys WHERE project_id = ? AND key_hash = ?')
          .run(projectId, keyHash).changes,
    );
    return changes > 0;
  }

  async applySchemaDeltas(projectId: string, deltas: SchemaDelta[]): Promise<void> {
    const upsert = this.writerStatement(
      `INSERT INTO schema_counters (project, collection, path, type, count) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (project, collection, path, type) DO UPDATE SET count = count + excluded.count`,
    );
    const prune = this.writerStatement(
      'DELETE FROM schema_counters WHERE project = ? AND collection = ? AND path = ? AND type = ? AND count <= 0',
    );
    await this.db.write(() => {
      for (const d of deltas) {
        // A zero delta changes nothing; upserted, it would create a counter at 0.
        if (d.delta === 0) continue;
        upsert.run(projectId, d.collection, d.path, d.type, d.delta);
        if (d.delta < 0) prune.run(projectId, d.collection, d.path, d.type);
      }
    });
  }

  async getSchema(projectId: string, collection?: string): Promise<SchemaCounter[]> {
    const sql =
      'SELECT collection, path, type, count FROM schema_counters WHERE project = ?' +
      (collection === undefined ? '' : ' AND collection = ?') +
      ' ORDER BY collection, path, type';
    const args = collection === undefined ? [projectId] : [projectId, collection];
    return this.db.reader.prepare(sql).all(...args) as SchemaCounter[];
  }

  /**
   * The writers' view (persister, recount): read through the writer
   * connection, because inside a write transaction the persister must see
   * the admissions it made earlier in that same transaction.
   */
  async getSchemaCap(
    projectId: string,
    collection: string,
    paths?: string[],
  ): Promise<SchemaCapState> {
    const { n } = this.writerStatement(
      'SELECT count(*) AS n FROM schema_properties WHERE project = ? AND collection = ?',
    ).get(projectId, collection) as { n: number };
    let admitted: string[];
    // More paths asked than admitted (a batch full of new names): one read of
    // the whole set (at most the cap) beats a lookup per path.
    if (paths === undefined || paths.length > n) {
      const all = (
        this.writerStatement(
          'SELECT path FROM schema_properties WHERE project = ? AND collection = ? ORDER BY path',
        ).all(projectId, collection) as { path: string }[]
      ).map((r) => r.path);
      const set = new Set(all);
      admitted = paths === undefined ? all : paths.filter((p) => set.has(p));
    } else {
      const has = this.writerStatement(
        'SELECT 1 FROM schema_properties WHERE project = ? AND collection = ? AND path = ?',
      );
      admitted = paths.filter((p) => has.get(projectId, collection, p) !== undefined);
    }
    const flag = this.writerStatement(
      'SELECT capped FROM schema_collections WHERE project = ? AND collection = ?',
    ).get(projectId, collection) as { capped: number } | undefined;
    return { admittedCount: n, admitted, capped: flag?.capped === 1 };
  }

  async updateSchemaCap(
    projectId: string,
    collection: string,
    admit: string[],
    capped: boolean,
  ): Promise<void> {
    const add = this.writerStatement(
      'INSERT OR IGNORE INTO schema_properties (project, collection, path) VALUES (?, ?, ?)',
    );
    const flag = this.writerStatement(
      `INSERT INTO schema_collections (project, collection, capped) VALUES (?, ?, ?)
       ON CONFLICT (project, collection) DO UPDATE SET capped = excluded.capped`,
    );
    await this.db.write(() => {
      for (const path of admit) add.run(projectId, collection, path);
      flag.run(projectId, collection, capped ? 1 : 0);
    });
  }

  async listCappedCollections(projectId?: string): Promise<CappedCollection[]> {
    const sql =
      'SELECT project AS projectId, collection FROM schema_collections WHERE capped = 1' +
      (projectId === undefined ? '' : ' AND project = ?') +
      ' ORDER BY project, collection';
    return this.db.reader
      .prepare(sql)
      .all(...(projectId === undefined ? [] : [projectId])) as CappedCollection[];
  }

  /** Standalone's generated keen.id secret lives beside the data it keys. */
  getSetting(name: string): string | undefined {
    const row = this.db.reader.prepare('SELECT value FROM settings WHERE name = ?').get(name) as
      { value: string } | undefined;
    return row?.value;
  }

  setSettingIfAbsent(name: string, value: string): string {
    this.db.writer
      .prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)')
      .run(name, value);
    return (
      this.db.writer.prepare('SELECT value FROM settings WHERE name = ?').get(name) as {
        value: string;
      }
    ).value;
  }

  // Retention is one row per project in the settings table (name
  // 'retention/<project>'): no schema change, and it lives and is backed up
  // with the rest of the project's metadata.
  async getRetention(projectId: string): Promise<number | null> {
    const value = this.getSetting(RETENTION_PREFIX + projectId);
    return value === undefined ? null : Number(value);
  }

  async setRetention(projectId: string, days: number | null): Promise<void> {
    await this.db.write(() =>
      days === null
        ? this.db.writer
            .prepare('DELETE FROM settings WHERE name = ?')
            .run(RETENTION_PREFIX + projectId)
        : this.db.writer
            .prepare(
              'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
            )
            .run(RETENTION_PREFIX + projectId, String(days)),
    );
  }

  async listRetentions(): Promise<ProjectRetention[]> {
    // substr/range instead of LIKE: a project id may hold '_', which LIKE reads as a wildcard.
    const rows = this.db.reader
      .prepare('SELECT name, value FROM settings WHERE name >= ? AND name < ? ORDER BY name')
      .all(RETENTION_PREFIX, RETENTION_END) as { name: string; value: string }[];
    return rows.map((r) => ({
      projectId: r.name.slice(RETENTION_PREFIX.length),
      days: Number(r.value),
    }));
  }

  /** One row read through the reader connection (synchronous: it cannot hang). */
  async ping(): Promise<void> {
    this.db.reader.prepare('SELECT 1 FROM projects LIMIT 1').get();
  }

  async close(): Promise<void> {}
}

export class SqliteUnitOfWork implements UnitOfWork {
  constructor(private readonly db: SqliteDatabase) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }
}

/** A key hash is stored once; the same refusal on every adapter. */
function keyExists(): TallyError {
  return new TallyError('conflict', 'KeyExistsError', 'A key with this hash is already stored.');
}
