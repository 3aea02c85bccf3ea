import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBType,
  DuckDBValue,
  LIST,
  listValue,
  STRUCT,
  structValue,
  VARCHAR,
} from '@duckdb/node-api';
import { StoredEvent } from '@app/events';
import { ColumnDictionary } from './column-dictionary';
import {
  ArrayElement,
  Cell,
  ColumnKind,
  COLUMN_KINDS,
  ELEMENT_KINDS,
  ELEMENT_STRUCT,
  flattenEvent,
  SQL_TYPE,
} from './column-layout';
import { CHUNK_ROWS, rowBytesOf, setColumnNull } from './null-column';

/** Columns every row has ahead of the typed ones: project, collection, id, ts, body, rid. */
const FIXED_COLUMNS = 6;
/**
 * Typed columns the table may have in all. Property paths are tenant text, so
 * without a bound one tenant's events (10,000 distinct keys each) would widen
 * the table for everyone. A collection whose events need a column past it is
 * marked overflowed: its rows are still kept, and its queries take the
 * TypeScript engine (the compiled path would read a missing column as
 * missing values).
 */
export const MAX_TYPED_COLUMNS = 2_000;
/**
 * Typed columns one project's collections may have values in, together, by
 * default (EventTableOptions.projectColumns): MAX_TYPED_COLUMNS is shared by
 * every tenant, and without a share per project one tenant's distinct keys
 * could use all of it, after which every other tenant's new properties would
 * overflow their collections onto the TypeScript engine.
 */
export const PROJECT_COLUMNS = 1_000;

/** A bound SQL parameter: only plain values cross this folder's boundary. */
export type SqlParam = string | number | boolean | bigint | null;

/** Where a row came from in the store it copies: its rowid there, and its body text as stored. */
export interface SourceRow {
  rid: number;
  body: string;
}

export interface EventTableOptions {
  /** A database file, or ':memory:' (the default). */
  path?: string;
  /**
   * DuckDB worker threads. Tally shares its cores with ingest and the HTTP
   * servers, so the default is 1; a dedicated query host may raise it.
   */
  threads?: number;
  /** DuckDB's memory_limit (e.g. '256MB'): it spills to disk beyond it. */
  memoryLimit?: string;
  /** Typed columns one project may have values in (PROJECT_COLUMNS by default). */
  projectColumns?: number;
}

/**
 * One DuckDB database holding events of any number of projects and
 * collections in one table: project, collection, id, ts (epoch ms), the JSON
 * body as stored, then one typed column per (path, kind) any event has had
 * (column-layout.ts), added as new pairs appear. The generated column names
 * and which (project, collection) uses which are kept in two small tables, so
 * a database file reopens with its dictionary.
 */
export class DuckdbEventTable {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly columns: ColumnDictionary,
    private readonly projectColumns: number,
  ) {}

  static async open(options: EventTableOptions = {}): Promise<DuckdbEventTable> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`threads must be a positive integer`);
    const instance = await DuckDBInstance.create(options.path ?? ':memory:', {
      threads: String(threads),
      ...(options.memoryLimit ? { memory_limit: options.memoryLimit } : {}),
      // DuckDB allocates through its own jemalloc, which without its
      // background threads returns freed pages to the system only while
      // something keeps allocating. After a fill of 2M events, an idle copy
      // held ~450 MiB it no longer used; with them the process fell back to
      // ~250 MiB within seconds (docs/benchmarks.md, "engine-rss").
      allocator_background_threads: 'true',
    });
    const conn = await instance.connect();
    await conn.run(`CREATE TABLE IF NOT EXISTS events (
      project VARCHAR NOT NULL, collection VARCHAR NOT NULL, id VARCHAR NOT NULL,
      ts BIGINT NOT NULL, body VARCHAR NOT NULL, rid BIGINT)`);
    await conn.run(`CREATE TABLE IF NOT EXISTS tally_overflowed (
      project VARCHAR NOT NULL, collection VARCHAR NOT NULL)`);
    await conn.run(`CREATE TABLE IF NOT EXISTS tally_copy_state (
      name VARCHAR PRIMARY KEY, value BIGINT NOT NULL)`);
    await conn.run(`CREATE TABLE IF NOT EXISTS tally_columns (
      name VARCHAR PRIMARY KEY, path VARCHAR NOT NULL, kind VARCHAR NOT NULL, position INTEGER NOT NULL)`);
    await conn.run(`CREATE TABLE IF NOT EXISTS tally_column_use (
      project VARCHAR NOT NULL, collection VARCHAR NOT NULL, name VARCHAR NOT NULL)`);
    const dict = new ColumnDictionary();
    const cols = await conn.runAndReadAll(
      'SELECT name, path, kind FROM tally_columns ORDER BY position',
    );
    for (const [name, path, kind] of cols.getRowsJS()) {
      if (!COLUMN_KINDS.includes(kind as ColumnKind))
        throw new Error(`unknown column kind ${String(kind)}`);
      dict.register(String(name), String(path), kind as ColumnKind);
    }
    const use = await conn.runAndReadAll('SELECT project, collection, name FROM tally_column_use');
    for (const [project, collection, name] of use.getRowsJS()) {
      dict.markUsed(String(project), String(collection), String(name));
    }
    const overflowed = await conn.runAndReadAll('SELECT project, collection FROM tally_overflowed');
    const table = new DuckdbEventTable(
      instance,
      conn,
      dict,
      options.projectColumns ?? PROJECT_COLUMNS,
    );
    for (const [project, collection] of overflowed.getRowsJS()) {
      table.overflowed.add(collectionKey(String(project), String(collection)));
    }
    return table;
  }

  /** (project, collection) pairs whose events needed a column past MAX_TYPED_COLUMNS. */
  private readonly overflowed = new Set<string>();

  /** Whether every property of the collection's events has its typed columns. */
  isComplete(projectId: string, collection: string): boolean {
    return !this.overflowed.has(collectionKey(projectId, collection));
  }

  /**
   * Statements on the connection run one at a time: appends hand out column
   * names in order, and DuckDB closes a connection's pending result when
   * another statement starts on it.
   */
  private queue: Promise<unknown> = Promise.resolve();

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const done = this.queue.then(work);
    this.queue = done.catch(() => undefined);
    return done;
  }

  /**
   * Appends events of one (project, collection). New (path, kind) pairs first
   * become columns: the ALTER TABLEs and their dictionary rows commit in one
   * transaction and only then enter the in-memory dictionary, so a failure
   * leaves neither a column without its dictionary row nor the reverse. Then
   * every row goes through one appender session.
   */
  append(
    projectId: string,
    collection: string,
    events: readonly StoredEvent[],
    sources?: readonly SourceRow[],
  ): Promise<void> {
    return this.exclusive(() => this.appendNow(projectId, collection, events, sources));
  }

  /**
   * Removes the rows of these source rowids, and of every rowid in
   * (`after`, `through`] when given: the copy re-reads those rows' current
   * state next (columnar-mirror.ts).
   */
  deleteRows(rids: readonly number[], range?: { after: number; through: number }): Promise<void> {
    return this.exclusive(async () => {
      for (let i = 0; i < rids.length; i += 1_000) {
        const chunk = rids.slice(i, i + 1_000);
        await this.conn.run(
          `DELETE FROM events WHERE rid IN (${chunk.map((_, j) => `$${j + 1}`).join(', ')})`,
          chunk.map((r) => BigInt(r)),
          chunk.map(() => BIGINT),
        );
      }
      if (range && range.through > range.after) {
        await this.conn.run(
          'DELETE FROM events WHERE rid > $1 AND rid <= $2',
          [BigInt(range.after), BigInt(range.through)],
          [BIGINT, BIGINT],
        );
      }
    });
  }

  /** A named counter of the copy's progress (0 when never set). */
  state(name: string): Promise<number> {
    return this.exclusive(async () => {
      const found = await this.conn.runAndReadAll(
        'SELECT value FROM tally_copy_state WHERE name = $1',
        [name],
        [VARCHAR],
      );
      const row = found.getRowsJS()[0];
      return row === undefined ? 0 : Number(row[0]);
    });
  }

  setState(values: Record<'rowid' | 'seq', number>): Promise<void> {
    return this.exclusive(async () => {
      await this.conn.run(
        'INSERT OR REPLACE INTO tally_copy_state VALUES ($1, $2), ($3, $4)',
        ['rowid', BigInt(values.rowid), 'seq', BigInt(values.seq)],
        [VARCHAR, BIGINT, VARCHAR, BIGINT],
      );
    });
  }

  /** Rows of the table (tests and diagnostics). */
  countRows(): Promise<number> {
    return this.exclusive(async () => {
      const found = await this.conn.runAndReadAll('SELECT count(*) FROM events');
      return Number(found.getRowsJS()[0][0]);
    });
  }

  private async appendNow(
    projectId: string,
    collection: string,
    events: readonly StoredEvent[],
    sources?: readonly SourceRow[],
  ): Promise<void> {
    const flat: Cell[][] = events.map((e) => flattenEvent(e.event));
    const fresh: { name: string; path: string; kind: ColumnKind }[] = [];
    const freshNames = new Map<string, Map<ColumnKind, string>>();
    const uses = new Set<string>();
    // Columns the project has no values in yet: each spends its share.
    const newToProject = new Set<string>();
    const shareLeft = this.projectColumns - this.columns.projectColumnCount(projectId);
    let overflow = false;
    // Each cell's column, or undefined for a cell past the table's cap or the
    // project's share (the collection is then marked overflowed below, and
    // its queries never read those cells).
    const cellColumns: (string | undefined)[][] = [];
    for (const cells of flat) {
      const names = new Array<string | undefined>(cells.length);
      cellColumns.push(names);
      for (let i = 0; i < cells.length; i++) {
        const { path, kind } = cells[i];
        let name = this.columns.nameOf(path, kind) ?? freshNames.get(path)?.get(kind);
        if (name !== undefined && this.columns.isUsed(projectId, collection, name)) {
          names[i] = name;
          continue;
        }
        if (name === undefined && this.columns.ordered.length + fresh.length >= MAX_TYPED_COLUMNS) {
          overflow = true;
          continue;
        }
        const spends =
          name === undefined ||
          (!this.columns.projectUses(projectId, name) && !newToProject.has(name));
        if (spends && newToProject.size >= shareLeft) {
          overflow = true;
          continue;
        }
        if (name === undefined) {
          name = `c${this.columns.ordered.length + fresh.length}`;
          fresh.push({ name, path, kind });
          let kinds = freshNames.get(path);
          if (kinds === undefined) {
            kinds = new Map();
            freshNames.set(path, kinds);
          }
          kinds.set(kind, name);
        }
        if (spends) newToProject.add(name);
        uses.add(name);
        names[i] = name;
      }
    }
    const key = collectionKey(projectId, collection);
    const newlyOverflowed = overflow && !this.overflowed.has(key);
    if (fresh.length > 0 || uses.size > 0 || newlyOverflowed) {
      await this.conn.run('BEGIN TRANSACTION');
      try {
        for (const { name, kind } of fresh) {
          // `name` is generated (c<N>), never tenant text; the path is a parameter.
          await this.conn.run(`ALTER TABLE events ADD COLUMN ${name} ${sqlType(kind)}`);
        }
        // One statement per dictionary table, however many pairs are new.
        if (fresh.length > 0) {
          const base = this.columns.ordered.length;
          await this.conn.run(
            `INSERT INTO tally_columns VALUES ${placeholders(fresh.length, 4)}`,
            fresh.flatMap((c, i) => [c.name, c.path, c.kind, base + i]),
          );
        }
        if (uses.size > 0) {
          await this.conn.run(
            `INSERT INTO tally_column_use VALUES ${placeholders(uses.size, 3)}`,
            [...uses].flatMap((name) => [projectId, collection, name]),
          );
        }
        if (newlyOverflowed) {
          await this.conn.run('INSERT INTO tally_overflowed VALUES ($1, $2)', [
            projectId,
            collection,
          ]);
        }
        await this.conn.run('COMMIT');
      } catch (e) {
        await this.conn.run('ROLLBACK');
        throw e;
      }
      for (const { name, path, kind } of fresh) this.columns.register(name, path, kind);
      for (const name of uses) this.columns.markUsed(projectId, collection, name);
      if (newlyOverflowed) this.overflowed.add(key);
    }
    const position = new Map<string, number>();
    this.columns.ordered.forEach((c, i) => position.set(c.name, FIXED_COLUMNS + i));
    const types: DuckDBType[] = [
      VARCHAR,
      VARCHAR,
      VARCHAR,
      BIGINT,
      VARCHAR,
      BIGINT,
      ...this.columns.ordered.map((c) => driverType(c.kind)),
    ];
    const rowBytes = this.columns.ordered.map((c) => rowBytesOf(c.kind));
    const appender: DuckDBAppender = await this.conn.createAppender('events');
    try {
      // Whole data chunks, column by column: the bake-off's fastest load path
      // (one driver call per column and chunk, not one per value). Only the
      // columns this collection's rows have are built value by value; every
      // other column (other collections', other tenants') is set NULL whole.
      for (let from = 0; from < events.length; from += CHUNK_ROWS) {
        const n = Math.min(events.length, from + CHUNK_ROWS) - from;
        const columns: (DuckDBValue[] | undefined)[] = new Array(types.length);
        const column = (c: number) => (columns[c] ??= new Array<DuckDBValue>(n).fill(null));
        for (let c = 0; c < FIXED_COLUMNS; c++) column(c);
        for (let r = 0; r < n; r++) {
          const e = events[from + r];
          columns[0]![r] = projectId;
          columns[1]![r] = collection;
          columns[2]![r] = e.id;
          columns[3]![r] = BigInt(e.timestamp);
          const source = sources?.[from + r];
          columns[4]![r] = source?.body ?? JSON.stringify(e.event);
          columns[5]![r] = source === undefined ? null : BigInt(source.rid);
          const cells = flat[from + r];
          const names = cellColumns[from + r];
          for (let i = 0; i < cells.length; i++) {
            const name = names[i];
            if (name !== undefined) column(position.get(name) as number)[r] = driverValue(cells[i]);
          }
        }
        const chunk = DuckDBDataChunk.create(types, n);
        for (let c = 0; c < types.length; c++) {
          const values = columns[c];
          if (values !== undefined) chunk.setColumnValues(c, values);
          else setColumnNull(chunk, c, n, rowBytes[c - FIXED_COLUMNS]);
        }
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  /**
   * Runs `work` with the connection to itself: no append lands between what
   * it reads of the column dictionary (compiling) and the statement it runs.
   */
  reading<T>(
    work: (rows: (sql: string, params: readonly SqlParam[]) => Promise<unknown[][]>) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.exclusive(() => work((sql, params) => this.rowsNow(sql, params, signal)));
  }

  /**
   * One statement with bound parameters; BIGINTs come back as numbers.
   * Parameter types are explicit: the driver would bind an integral number
   * as INTEGER or BIGINT (and fail past 2^63, e.g. 1e20), while a JSON number
   * is a double and must compare as one.
   */
  private async rowsNow(
    sql: string,
    params: readonly SqlParam[],
    signal?: AbortSignal,
  ): Promise<unknown[][]> {
    const types = params.map((p) =>
      typeof p === 'number'
        ? DOUBLE
        : typeof p === 'bigint'
          ? BIGINT
          : typeof p === 'boolean'
            ? BOOLEAN
            : VARCHAR,
    );
    // A query past its deadline is interrupted: the connection is shared with
    // the copy's appends, which would otherwise wait behind it. The signal
    // belongs to this statement only, so an append is never interrupted.
    signal?.throwIfAborted();
    const interrupt = () => this.conn.interrupt();
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      const reader = await this.conn.runAndReadAll(sql, [...params], types);
      return reader.getRowsJS().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
    } finally {
      signal?.removeEventListener('abort', interrupt);
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** A Set key of (project, collection) that no pair of other names can spell. */
const collectionKey = (projectId: string, collection: string): string =>
  JSON.stringify([projectId, collection]);

const sqlType = (kind: ColumnKind): string =>
  SQL_TYPE[kind] === 'ELEMENTS' ? `${ELEMENT_STRUCT}[]` : SQL_TYPE[kind];

/** The driver's type of an `e` column: must spell ELEMENT_STRUCT field for field. */
const ELEMENT_LIST = LIST(
  STRUCT({ n: DOUBLE, s: VARCHAR, ns: DOUBLE, t: BIGINT, b: BOOLEAN, z: BOOLEAN, o: VARCHAR }),
);

/** The driver's type of a typed column. */
function driverType(kind: ColumnKind): DuckDBType {
  switch (SQL_TYPE[kind]) {
    case 'DOUBLE':
      return DOUBLE;
    case 'BIGINT':
      return BIGINT;
    case 'BOOLEAN':
      return BOOLEAN;
    case 'ELEMENTS':
      return ELEMENT_LIST;
    default:
      return VARCHAR;
  }
}

/** A cell's value as the driver takes it: BIGINT as bigint, elements as a list of structs. */
function driverValue(cell: Cell): DuckDBValue {
  switch (SQL_TYPE[cell.kind]) {
    case 'BIGINT':
      return BigInt(cell.value as number);
    case 'ELEMENTS':
      return listValue((cell.value as ArrayElement[]).map(elementValue));
    default:
      return cell.value as number | string | boolean;
  }
}

function elementValue(el: ArrayElement) {
  const fields: Record<string, number | string | boolean | bigint | null> = Object.create(null);
  for (const kind of ELEMENT_KINDS) {
    const v = el[kind];
    fields[kind] = v === undefined ? null : kind === 't' ? BigInt(v as number) : v;
  }
  return structValue(fields);
}

/** `($1, $2), ($3, $4)` for rows × width parameters. */
function placeholders(rows: number, width: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 1; c <= width; c++) row.push(`$${r * width + c}`);
    out.push(`(${row.join(', ')})`);
  }
  return out.join(', ');
}
