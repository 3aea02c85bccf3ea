import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MIGRATIONS } from './sqlite-migrations';

export type SqliteHandle = Database.Database;

/**
 * One SQLite file per data dir, holding events and metadata so that events and
 * the schema counters they add commit in one transaction. Writes go through one
 * connection; queries read through a second one (WAL lets readers run beside
 * the writer without blocking it).
 */
export class SqliteDatabase {
  readonly writer: SqliteHandle;
  readonly reader: SqliteHandle;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.writer = new Database(file);
    this.writer.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we answer 2xx (NORMAL could lose the
    // last transactions on power loss, though not on a process kill).
    this.writer.pragma('synchronous = FULL');
    this.writer.pragma('busy_timeout = 5000');
    this.migrate();
    this.reader = new Database(file, { readonly: true });
    this.reader.pragma('busy_timeout = 5000');
  }

  private migrate(): void {
    this.writer.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
    const done = new Set(
      (this.writer.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
        (r) => r.version,
      ),
    );
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (done.has(version)) continue;
      this.writer.transaction(() => {
        this.writer.exec(sql);
        this.writer.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(version);
      })();
    }
  }

  /**
   * Runs async work inside one write transaction. Calls are serialized so no
   * other writer's statements can interleave with an open transaction.
   */
  transaction<T>(work: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.writer.exec('BEGIN IMMEDIATE');
      try {
        const result = await work();
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw error;
      }
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => undefined);
    return next;
  }

  close(): void {
    if (this.reader.open) this.reader.close();
    if (this.writer.open) this.writer.close();
  }
}
