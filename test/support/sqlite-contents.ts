import Database from 'better-sqlite3';
import * as path from 'node:path';
import { JsonObject } from '@app/events';
import { schemaDeltas } from '@app/schema';

/** Reads what the standalone server actually stored, straight from its SQLite file. */
export class SqliteContents {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = new Database(path.join(dataDir, 'tally.db'), { readonly: true, fileMustExist: true });
  }

  events(projectId: string, collection?: string): Array<{ collection: string; id: string; event: JsonObject }> {
    const rows = this.db
      .prepare(
        `SELECT collection, id, body FROM events WHERE project = ?${collection ? ' AND collection = ?' : ''} ORDER BY ts, id`,
      )
      .all(...(collection ? [projectId, collection] : [projectId])) as Array<{ collection: string; id: string; body: string }>;
    return rows.map((r) => ({ collection: r.collection, id: r.id, event: JSON.parse(r.body) }));
  }

  counters(projectId: string): Record<string, number> {
    const rows = this.db
      .prepare('SELECT collection, path, type, count FROM schema_counters WHERE project = ?')
      .all(projectId) as Array<{ collection: string; path: string; type: string; count: number }>;
    return Object.fromEntries(rows.map((r) => [`${r.collection}|${r.path}|${r.type}`, r.count]));
  }

  /** The counters an exact recount of the stored events gives. */
  recount(projectId: string): Record<string, number> {
    const deltas = schemaDeltas(this.events(projectId));
    return Object.fromEntries(deltas.map((d) => [`${d.collection}|${d.path}|${d.type}`, d.delta]));
  }

  close(): void {
    this.db.close();
  }
}
