import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoreFullError, isStoreFullError } from '../errors/store-full';
import { SpaceReading, storeSpace } from '../errors/store-space';
import { MIGRATIONS } from './sqlite-migrations';

export type SqliteHandle = Database.Database;

export interface SqliteDatabaseOptions {
  /**
   * Largest size the database file may grow to (SQLITE_MAX_BYTES), enforced by
   * SQLite's max_page_count: a write beyond it fails whole with SQLITE_FULL,
   * exactly as on a full disk. Undefined: no cap of our own.
   */
  maxBytes?: number;
}

/**
 * Runs a transaction's work only once no other connection of this process is
 * writing: standalone's writer thread holds the file's write lock during its
 * commits, and a main-thread writer must wait for it without blocking the
 * event loop (see SqliteWriterThread.exclusive).
 */
export type WriteGate = <T>(work: () => Promise<T>) => Promise<T>;

/** The name readiness reports this store under. */
const STORE = 'sqlite';

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
  private gate: WriteGate | null = null;
  private readonly maxPages: number | undefined;
  private readonly unwatch: () => void;

  constructor(
    readonly file: string,
    private readonly options: SqliteDatabaseOptions = {},
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.writer = new Database(file);
    this.writer.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we answer 2xx (NORMAL could lose the
    // last transactions on power loss, though not on a process kill).
    this.writer.pragma('synchronous = FULL');
    this.writer.pragma('busy_timeout = 5000');
    if (options.maxBytes !== undefined) {
      // Per connection, not stored in the file: set on every open. SQLite never
      // lowers it below the file's current size, so a cap smaller than the data
      // already there just means "full" (deletes still free pages to reuse).
      const pageSize = this.writer.pragma('page_size', { simple: true }) as number;
      this.maxPages = this.writer.pragma(
        `max_page_count = ${Math.max(1, Math.floor(options.maxBytes / pageSize))}`,
        { simple: true },
      ) as number;
    }
    this.migrate();
    this.reader = new Database(file, { readonly: true });
    this.reader.pragma('busy_timeout = 5000');
    this.unwatch = storeSpace.watch(STORE, () => this.space());
  }

  /**
   * Room left to grow: the data dir's file system, and under SQLITE_MAX_BYTES
   * the pages left below the cap plus the free pages inside the file (which a
   * write reuses before it grows the file).
   */
  space(): SpaceReading {
    const dir = path.dirname(this.file);
    const stats = fs.statfsSync(dir);
    const diskFree = stats.bavail * stats.bsize;
    const disk = { freeBytes: diskFree, where: `the file system of ${dir}` };
    if (this.maxPages === undefined) return disk;
    const pageSize = this.reader.pragma('page_size', { simple: true }) as number;
    const used = this.reader.pragma('page_count', { simple: true }) as number;
    const reusable = this.reader.pragma('freelist_count', { simple: true }) as number;
    const capFree = Math.max(0, this.maxPages - used + reusable) * pageSize;
    return capFree < diskFree
      ? { freeBytes: capFree, where: `the database (SQLITE_MAX_BYTES=${this.options.maxBytes})` }
      : disk;
  }

  private migrate(): void {
    this.writer.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
    const done = new Set(
      (
        this.writer.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]
      ).map((r) => r.version),
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
   * From now on every write of this connection waits for the gate first
   * (standalone: the writer thread pauses between its commits), so that it
   * never sleeps in SQLite's busy handler, on the event loop, while another
   * connection of this process holds the write lock.
   */
  setWriteGate(gate: WriteGate | null): void {
    this.gate = gate;
  }

  /**
   * One synchronous write: inside the caller's open transaction it joins it;
   * otherwise it runs in a BEGIN IMMEDIATE transaction of its own, in one
   * synchronous step (nothing of this thread can run between its BEGIN and
   * its COMMIT). Behind a gate it first waits for it, and for the writes
   * queued before it.
   */
  write<T>(work: () => T): Promise<T> {
    if (this.writer.inTransaction || !this.gate) {
      try {
        return Promise.resolve(this.writer.inTransaction ? work() : this.writeNow(work));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.serialize(async () => this.writeNow(work));
  }

  private writeNow<T>(work: () => T): T {
    try {
      const result = this.writer.transaction(work).immediate();
      storeSpace.reportWritten(STORE);
      return result;
    } catch (error) {
      throw this.full(error);
    }
  }

  /**
   * Runs async work inside one write transaction. Calls are serialized so no
   * other writer's statements can interleave with an open transaction.
   */
  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.serialize(async (): Promise<T> => {
      try {
        this.writer.exec('BEGIN IMMEDIATE');
        try {
          const result = await work();
          this.writer.exec('COMMIT');
          storeSpace.reportWritten(STORE);
          return result;
        } catch (error) {
          // SQLITE_FULL has already rolled the transaction back by itself.
          if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
          throw error;
        }
      } catch (error) {
        throw this.full(error);
      }
    });
  }

  /** After the writes queued before it, and through the gate when there is one. */
  private serialize<T>(run: () => Promise<T>): Promise<T> {
    const gated = () => (this.gate ? this.gate(run) : run());
    const next = this.tail.then(gated, gated);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** A full error becomes one message naming what is full (reported to readiness); others pass unchanged. */
  private full(error: unknown): unknown {
    if (!isStoreFullError(error) || error instanceof StoreFullError) return error;
    const capped =
      this.maxPages !== undefined &&
      (this.writer.pragma('page_count', { simple: true }) as number) >= this.maxPages;
    const wrapped = new StoreFullError(
      capped
        ? `The embedded database reached its size limit (SQLITE_MAX_BYTES=${this.options.maxBytes}); ` +
            'nothing from this request was stored or deleted. Retry once events are deleted or the limit is raised.'
        : `The data directory's disk is full; nothing from this request was stored or deleted. ` +
            'Retry later: writes resume as soon as space is freed.',
      { cause: error },
    );
    storeSpace.reportFull(STORE, wrapped);
    return wrapped;
  }

  close(): void {
    this.unwatch();
    if (this.reader.open) this.reader.close();
    if (this.writer.open) this.writer.close();
  }
}
