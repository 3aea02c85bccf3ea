/** Versioned, append-only: never edit an entry that has shipped; add a new one. */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE events (
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE UNIQUE INDEX events_by_id ON events (project, id);
  CREATE INDEX events_by_time ON events (project, collection, ts, id);

  CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE schema_counters (
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    type TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (project, collection, path, type)
  ) WITHOUT ROWID;
  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // The schema property cap: the paths admitted to the counters (a slot, once
  // taken, stays taken) and the per-collection capped flag. Paths counted
  // before the cap existed are admitted as they are.
  `
  CREATE TABLE schema_properties (
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (project, collection, path)
  ) WITHOUT ROWID;
  CREATE TABLE schema_collections (
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    capped INTEGER NOT NULL,
    PRIMARY KEY (project, collection)
  ) WITHOUT ROWID;
  INSERT INTO schema_properties (project, collection, path)
    SELECT DISTINCT project, collection, path FROM schema_counters
    WHERE path <> 'keen' AND NOT (substr(path, 1, 5) = 'keen.' AND instr(substr(path, 6), '.') = 0);
  `,
  // The columnar copy's change log (libs/storage/src/duckdb/columnar-mirror.ts).
  // New events are found by rowid (SQLite gives a new row a rowid above every
  // row it holds), so inserts cost no log row; deletes and body rewrites, from
  // any connection or process (writer thread, delete jobs, the CLI), leave the
  // rowid they touched. The copy re-reads the current state of every rowid it
  // is told about, so the order of changes within a window does not matter.
  `
  CREATE TABLE event_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    row INTEGER NOT NULL
  );
  CREATE TRIGGER events_deleted_log AFTER DELETE ON events
    BEGIN INSERT INTO event_changes (row) VALUES (old.rowid); END;
  CREATE TRIGGER events_updated_log AFTER UPDATE ON events
    BEGIN INSERT INTO event_changes (row) VALUES (new.rowid); END;
  `,
  // Keen's access keys: a name, an active flag (revoke/unrevoke keeps the
  // key), and what the key may do (`permitted` and `options`) as JSON text.
  // The three role keys a project starts with keep the defaults.
  `
  ALTER TABLE api_keys ADD COLUMN name TEXT;
  ALTER TABLE api_keys ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE api_keys ADD COLUMN access TEXT;
  `,
  // Saved and cached queries (sqlite-saved-query.store.ts): the definition and
  // metadata as JSON text, the cached answer with the version it was computed
  // from, and the refresh lease. due_at is NULL for a plain saved query, so
  // the partial index holds only what the refresher looks at.
  `
  CREATE TABLE saved_queries (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    metadata TEXT NOT NULL,
    refresh_rate INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version TEXT NOT NULL,
    result TEXT,
    result_version TEXT,
    computed_at INTEGER,
    due_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project, name)
  ) WITHOUT ROWID;
  CREATE INDEX saved_queries_due ON saved_queries (due_at) WHERE due_at IS NOT NULL;
  `,
  // Cached datasets (sqlite-dataset.store.ts): definitions; the change log
  // the write path appends to in its own transaction (time ranges of changed
  // events per collection); buckets waiting to be computed, with a sequence
  // that grows at each new mark and a lease; computed values per index value.
  `
  CREATE TABLE datasets (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    collection TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (project, name)
  ) WITHOUT ROWID;
  CREATE INDEX datasets_by_collection ON datasets (project, collection);
  CREATE TABLE dataset_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    collection TEXT NOT NULL,
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL
  );
  CREATE TABLE dataset_dirty (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project, name, start_ms)
  ) WITHOUT ROWID;
  CREATE TABLE dataset_rows (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    index_key TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (project, name, index_key, start_ms)
  ) WITHOUT ROWID;
  CREATE INDEX dataset_rows_by_bucket ON dataset_rows (project, name, start_ms);
  `,
];
