/**
 * Storage engine bake-off: the same generated collection in three layouts, the
 * same Keen queries answered natively by each, every answer checked equal.
 * Run: `npm run bench -- engine-bakeoff` (figures and decision in docs/storage-engine.md).
 *
 * Candidates:
 * - SQLite, JSON body: Tally's events table as it is today (SqliteDatabase runs the
 *   project's migrations), queried with SQLite's SQL over the body (`body->>'$.path'`).
 * - SQLite, typed columns: the same table plus one column per (path, JSON type).
 * - DuckDB: typed columns per (path, type) plus the JSON body, loaded with the appender.
 * - Tally today: executeQuery over SqliteEventStore, on a smaller collection
 *   (BENCH_SAMPLE events over the same 30 days); its figures are scaled to BENCH_EVENTS.
 *   Its answers are checked against SQLite's SQL on that sample, which checks the
 *   SQL's Keen semantics against the engine (missing, null, mixed types).
 *
 * Knobs: BENCH_EVENTS (1,000,000; the issue's target is 10,000,000), BENCH_SAMPLE
 * (100,000), BENCH_RUNS (5), BENCH_SEED (20240225). Data lives under /tmp and is
 * removed at the end. A differing answer is printed and the process exits non-zero.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { DateTime } from 'luxon';
import {
  DuckDBAppender,
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBType,
  BIGINT,
  BOOLEAN,
  DOUBLE,
  VARCHAR,
} from '@duckdb/node-api';
import { CollectionEvent, JsonObject } from '@app/events';
import { executeQuery, parseQuery } from '@app/query-engine';
import { SqliteDatabase, SqliteEventStore } from '@app/storage/sqlite';
import {
  BAKEOFF_END,
  BAKEOFF_LOCAL_TIMEFRAME,
  BAKEOFF_START,
  BAKEOFF_ZONE,
  bakeoffEvents,
  flatten,
  Kind,
  kindOf,
  numericText,
} from './support/bakeoff-events';
import { median } from './support/load';
import { fmt, timed } from './support/timing';

const EVENTS = Number(process.env.BENCH_EVENTS || 1_000_000);
const SAMPLE = Math.min(EVENTS, Number(process.env.BENCH_SAMPLE || 100_000));
const RUNS = Number(process.env.BENCH_RUNS || 5);
const SEED = Number(process.env.BENCH_SEED || 20240225);
const EXTRACT = Math.min(EVENTS, 1_000_000);
const PROJECT = 'bench';
const COLLECTION = 'c';
const CHUNK = 50_000;

/** Every answer, reduced to comparable JSON text (floats to 12 significant digits). */
type Answer = string;
const canon = (v: unknown): Answer =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(12)) : x,
  );
const groups = (rows: Array<{ k: unknown; v: unknown }>): Answer =>
  canon(
    rows
      .map((r) => [r.k === null || r.k === undefined ? null : String(r.k), Number(r.v ?? 0)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );

/** Daily buckets of the 30 New York days, DST-correct (one is 23 hours long). */
const DAY_EDGES: number[] = (() => {
  const edges: number[] = [];
  const start = DateTime.fromMillis(BAKEOFF_START, { zone: BAKEOFF_ZONE });
  for (let d = 0; d <= 30; d++) edges.push(start.plus({ days: d }).toMillis());
  if (edges[30] !== BAKEOFF_END) throw new Error('day edges do not end at the timeframe end');
  return edges;
})();
const BUCKETS_SQL = `WITH b(d, s, e) AS (VALUES ${DAY_EDGES.slice(0, 30)
  .map((s, d) => `(${d}, ${s}, ${DAY_EDGES[d + 1]})`)
  .join(', ')})`;

interface QuerySpec {
  key: string;
  label: string;
  /** The Keen query, for Tally's engine. */
  analysis: string;
  params: Record<string, unknown>;
  toAnswer(result: unknown): Answer;
}

const TIMEFRAME = {
  start: new Date(BAKEOFF_START).toISOString(),
  end: new Date(BAKEOFF_END).toISOString(),
};
const filtered = (filters: unknown[]) => ({ timeframe: TIMEFRAME, filters });
const eq = (property_name: string, property_value: unknown) => ({
  property_name,
  operator: 'eq',
  property_value,
});
const scalar = (r: unknown): Answer => canon(r);

const QUERIES: QuerySpec[] = [
  {
    key: 'count',
    label: 'count, 30 days',
    analysis: 'count',
    params: { timeframe: TIMEFRAME },
    toAnswer: scalar,
  },
  {
    key: 'eq',
    label: 'count, user.country eq "FR"',
    analysis: 'count',
    params: filtered([eq('user.country', 'FR')]),
    toAnswer: scalar,
  },
  {
    key: 'or',
    label: 'count, or(user.country eq "JP", device.type eq "tablet")',
    analysis: 'count',
    params: filtered([
      { operator: 'or', operands: [eq('user.country', 'JP'), eq('device.type', 'tablet')] },
    ]),
    toAnswer: scalar,
  },
  {
    key: 'sum',
    label: 'sum price group_by product.category (201 groups)',
    analysis: 'sum',
    params: { timeframe: TIMEFRAME, target_property: 'price', group_by: 'product.category' },
    toAnswer: (r) =>
      groups(
        (r as Array<Record<string, unknown>>).map((x) => ({
          k: x['product.category'],
          v: x.result,
        })),
      ),
  },
  {
    key: 'unique',
    label: 'count_unique user.id',
    analysis: 'count_unique',
    params: { timeframe: TIMEFRAME, target_property: 'user.id' },
    toAnswer: scalar,
  },
  {
    key: 'p90',
    label: 'percentile 90 of duration',
    analysis: 'percentile',
    params: { timeframe: TIMEFRAME, target_property: 'duration', percentile: 90 },
    toAnswer: scalar,
  },
  {
    key: 'daily',
    label: `count daily in ${BAKEOFF_ZONE}`,
    analysis: 'count',
    params: { timeframe: BAKEOFF_LOCAL_TIMEFRAME, timezone: BAKEOFF_ZONE, interval: 'daily' },
    toAnswer: (r) =>
      canon(
        (r as Array<{ value: number; timeframe: { start: string } }>).map((b) => [
          Date.parse(b.timeframe.start),
          b.value,
        ]),
      ),
  },
  {
    key: 'mixedNum',
    label: 'mixed type: count, score gt 50',
    analysis: 'count',
    params: filtered([{ property_name: 'score', operator: 'gt', property_value: 50 }]),
    toAnswer: scalar,
  },
  {
    key: 'mixedStr',
    label: 'mixed type: count, score eq "high"',
    analysis: 'count',
    params: filtered([eq('score', 'high')]),
    toAnswer: scalar,
  },
  {
    key: 'extract',
    label: `extraction of ${fmt(EXTRACT)} events to a null sink`,
    analysis: 'extraction',
    params: { timeframe: TIMEFRAME },
    toAnswer: (r) => extractAnswer(r as unknown[]),
  },
];

/** What an extraction must agree on: how many events, their bytes, the first and last id. */
function extractAnswer(events: unknown[]): Answer {
  let bytes = 0;
  for (const e of events) bytes += JSON.stringify(e).length;
  const id = (e: unknown) => (e as { keen: { id: string } }).keen.id;
  return canon([events.length, bytes, id(events[0]), id(events[events.length - 1])]);
}

/** A null sink for extracted bodies: counts them and their bytes, keeps the ends' ids. */
class NullSink {
  n = 0;
  bytes = 0;
  first = '';
  last = '';
  write(id: string, body: string): void {
    if (this.n++ === 0) this.first = id;
    this.last = id;
    this.bytes += body.length;
  }
  answer(): Answer {
    return canon([this.n, this.bytes, this.first, this.last]);
  }
}

interface Candidate {
  name: string;
  /** Events the figures cover (Tally's are measured on the sample and scaled). */
  scale: number;
  loadMs: number;
  diskBytes: number;
  answers: Record<string, () => Promise<Answer>>;
  /** Naive SQL over the mixed property, if the layout makes one tempting. */
  naive?: { sql: string; run: () => Promise<Answer> };
  close(): Promise<void>;
}

const bytesOf = (...files: string[]): number =>
  files.reduce((sum, f) => sum + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);

// ---------------------------------------------------------------------------
// SQLite, JSON body (today's layout)

/** SQL over the body: the plan a Keen-to-SQL compiler would emit, knowing from the
 * schema counters that user.country, device.type, product.category, price and
 * duration have one JSON type each, and score several. */
function sqliteJsonAnswers(db: Database.Database): Record<string, () => Promise<Answer>> {
  // Keen numeric strings: SQLite has no regex, so the rule runs as a function.
  db.function('keen_num', { deterministic: true }, (s: unknown) =>
    typeof s === 'string' ? numericText(s) : null,
  );
  const range = `project = '${PROJECT}' AND collection = '${COLLECTION}' AND ts >= ${BAKEOFF_START} AND ts < ${BAKEOFF_END}`;
  const count = (where: string) => {
    const stmt = db.prepare(`SELECT count(*) AS n FROM events WHERE ${range} ${where}`);
    return async () => canon((stmt.get() as { n: number }).n);
  };
  const sum = db.prepare(
    `SELECT body->>'$.product.category' AS k, total(body->>'$.price') AS v FROM events WHERE ${range} GROUP BY k`,
  );
  const unique = db.prepare(
    `SELECT count(DISTINCT body->>'$.user.id') AS n FROM events WHERE ${range}`,
  );
  const p90 = db.prepare(
    `SELECT percentile_cont(body->>'$.duration', 0.9) AS p FROM events WHERE ${range}`,
  );
  const daily = db.prepare(
    `${BUCKETS_SQL} SELECT b.s AS s, (SELECT count(*) FROM events WHERE project = '${PROJECT}' AND collection = '${COLLECTION}'
       AND ts >= b.s AND ts < b.e) AS n FROM b ORDER BY b.d`,
  );
  const extract = db.prepare(
    `SELECT id, body FROM events WHERE ${range} ORDER BY ts, id LIMIT ${EXTRACT}`,
  );
  const t = `json_type(body, '$.score')`;
  return {
    count: count(''),
    eq: count(`AND body->>'$.user.country' = 'FR'`),
    or: count(`AND (body->>'$.user.country' = 'JP' OR body->>'$.device.type' = 'tablet')`),
    sum: async () => groups(sum.all() as Array<{ k: unknown; v: unknown }>),
    unique: async () => canon((unique.get() as { n: number }).n),
    p90: async () => canon((p90.get() as { p: number }).p),
    daily: async () =>
      canon((daily.all() as Array<{ s: number; n: number }>).map((r) => [r.s, r.n])),
    mixedNum: count(
      `AND CASE ${t} WHEN 'integer' THEN body->>'$.score' > 50 WHEN 'real' THEN body->>'$.score' > 50
         WHEN 'text' THEN keen_num(body->>'$.score') > 50 ELSE 0 END`,
    ),
    mixedStr: count(`AND body->>'$.score' = 'high'`),
    extract: async () => {
      const sink = new NullSink();
      for (const row of extract.iterate() as IterableIterator<{ id: string; body: string }>)
        sink.write(row.id, row.body);
      return sink.answer();
    },
  };
}

async function loadSqliteJson(dir: string): Promise<Candidate> {
  const file = path.join(dir, 'tally.db');
  const db = new SqliteDatabase(file);
  const insert = db.writer.prepare(
    'INSERT INTO events (project, collection, id, ts, body) VALUES (?, ?, ?, ?, ?)',
  );
  const loadMs = await timed(async () => {
    for (let from = 0; from < EVENTS; from += CHUNK) {
      const chunk = [...bakeoffEvents(SEED, EVENTS, from, Math.min(EVENTS, from + CHUNK))];
      db.writer.transaction(() => {
        for (const e of chunk) insert.run(PROJECT, COLLECTION, e.id, e.ts, JSON.stringify(e.body));
      })();
    }
    db.writer.pragma('wal_checkpoint(TRUNCATE)');
  });
  const reader = new Database(file, { readonly: true });
  const naive = reader.prepare(
    `SELECT count(*) AS n FROM events WHERE project = '${PROJECT}' AND collection = '${COLLECTION}'
     AND ts >= ${BAKEOFF_START} AND ts < ${BAKEOFF_END} AND body->>'$.score' > 50`,
  );
  return {
    name: 'SQLite JSON body',
    scale: EVENTS,
    loadMs,
    diskBytes: bytesOf(file, `${file}-wal`),
    answers: sqliteJsonAnswers(reader),
    naive: {
      sql: "body->>'$.score' > 50",
      run: async () => canon((naive.get() as { n: number }).n),
    },
    close: async () => {
      reader.close();
      db.close();
    },
  };
}

// ---------------------------------------------------------------------------
// Typed columns (SQLite and DuckDB share the column set and the SQL)

/** The (path, type) columns seen in the first events; a later new one fails the load. */
function typedColumns(): string[] {
  const seen = new Set<string>();
  for (const e of bakeoffEvents(SEED, EVENTS, 0, Math.min(EVENTS, 20_000)))
    for (const c of flatten(e.body, new Map()).keys()) seen.add(c);
  return [...seen].sort();
}

const q = (column: string) => `"${column}"`;

/** Keen semantics over typed columns: a type's column is NULL unless the value has that type. */
function typedSql(range: string, percentile: string, daily: string) {
  return {
    count: `SELECT count(*) AS n FROM events WHERE ${range}`,
    eq: `SELECT count(*) AS n FROM events WHERE ${range} AND ${q('user.country:s')} = 'FR'`,
    or: `SELECT count(*) AS n FROM events WHERE ${range} AND (${q('user.country:s')} = 'JP' OR ${q('device.type:s')} = 'tablet')`,
    sum: `SELECT ${q('product.category:s')} AS k, coalesce(sum(${q('price:n')}), 0) AS v FROM events WHERE ${range} GROUP BY k`,
    unique: `SELECT count(DISTINCT ${q('user.id:s')}) AS n FROM events WHERE ${range}`,
    p90: `SELECT ${percentile}(${q('duration:n')}, 0.9) AS p FROM events WHERE ${range}`,
    daily,
    mixedNum: `SELECT count(*) AS n FROM events WHERE ${range} AND (${q('score:n')} > 50 OR ${q('score:ns')} > 50)`,
    mixedStr: `SELECT count(*) AS n FROM events WHERE ${range} AND ${q('score:s')} = 'high'`,
    extract: `SELECT id, body FROM events WHERE ${range} ORDER BY ts, id LIMIT ${EXTRACT}`,
  };
}

const SQLITE_TYPES: Record<Kind, string> = {
  s: 'TEXT',
  n: 'REAL',
  b: 'INTEGER',
  z: 'INTEGER',
  a: 'TEXT',
  ns: 'REAL',
};

async function loadSqliteTyped(dir: string, columns: string[]): Promise<Candidate> {
  const file = path.join(dir, 'typed.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE events (project TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL,
      ts INTEGER NOT NULL, body TEXT NOT NULL,
      ${columns.map((c) => `${q(c)} ${SQLITE_TYPES[kindOf(c)]}`).join(',\n      ')});
    CREATE UNIQUE INDEX events_by_id ON events (project, id);
    CREATE INDEX events_by_time ON events (project, collection, ts, id);
  `);
  const insert = db.prepare(
    `INSERT INTO events VALUES (?, ?, ?, ?, ?${', ?'.repeat(columns.length)})`,
  );
  const values: unknown[] = new Array(5 + columns.length);
  const loadMs = await timed(async () => {
    for (let from = 0; from < EVENTS; from += CHUNK) {
      const chunk = [...bakeoffEvents(SEED, EVENTS, from, Math.min(EVENTS, from + CHUNK))];
      db.transaction(() => {
        const flat = new Map<string, unknown>();
        for (const e of chunk) {
          flat.clear();
          flatten(e.body, flat);
          if (flat.size > 0)
            for (const k of flat.keys()) if (!columns.includes(k)) unknownColumn(k);
          values[0] = PROJECT;
          values[1] = COLLECTION;
          values[2] = e.id;
          values[3] = e.ts;
          values[4] = JSON.stringify(e.body);
          for (let c = 0; c < columns.length; c++) {
            const v = flat.get(columns[c]);
            values[5 + c] = v === undefined ? null : typeof v === 'boolean' ? Number(v) : v;
          }
          insert.run(values);
        }
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  });
  const range = `project = '${PROJECT}' AND collection = '${COLLECTION}' AND ts >= ${BAKEOFF_START} AND ts < ${BAKEOFF_END}`;
  const sql = typedSql(
    range,
    'percentile_cont',
    `${BUCKETS_SQL} SELECT b.s AS s, (SELECT count(*) FROM events WHERE project = '${PROJECT}' AND collection = '${COLLECTION}'
       AND ts >= b.s AND ts < b.e) AS n FROM b ORDER BY b.d`,
  );
  const one = (text: string) => {
    const stmt = db.prepare(text);
    return async () => canon(Object.values(stmt.get() as Record<string, unknown>)[0]);
  };
  const sum = db.prepare(sql.sum);
  const daily = db.prepare(sql.daily);
  const extract = db.prepare(sql.extract);
  return {
    name: 'SQLite typed columns',
    scale: EVENTS,
    loadMs,
    diskBytes: bytesOf(file, `${file}-wal`),
    answers: {
      count: one(sql.count),
      eq: one(sql.eq),
      or: one(sql.or),
      sum: async () => groups(sum.all() as Array<{ k: unknown; v: unknown }>),
      unique: one(sql.unique),
      p90: one(sql.p90),
      daily: async () =>
        canon((daily.all() as Array<{ s: number; n: number }>).map((r) => [r.s, r.n])),
      mixedNum: one(sql.mixedNum),
      mixedStr: one(sql.mixedStr),
      extract: async () => {
        const sink = new NullSink();
        for (const row of extract.iterate() as IterableIterator<{ id: string; body: string }>)
          sink.write(row.id, row.body);
        return sink.answer();
      },
    },
    close: async () => void db.close(),
  };
}

function unknownColumn(column: string): never {
  throw new Error(`typed layout: column ${column} first seen after the schema pass`);
}

// ---------------------------------------------------------------------------
// DuckDB

const DUCK_TYPES: Record<Kind, [string, DuckDBType]> = {
  s: ['VARCHAR', VARCHAR],
  n: ['DOUBLE', DOUBLE],
  b: ['BOOLEAN', BOOLEAN],
  z: ['BOOLEAN', BOOLEAN],
  a: ['VARCHAR', VARCHAR],
  ns: ['DOUBLE', DOUBLE],
};
/** DuckDB's vector size: a data chunk holds at most this many rows. */
const DUCK_CHUNK = 2048;

async function duckValue(conn: DuckDBConnection, sql: string): Promise<unknown> {
  const reader = await conn.runAndReadAll(sql);
  const v = reader.getRowsJS()[0][0];
  return typeof v === 'bigint' ? Number(v) : v;
}

async function loadDuckdb(dir: string, columns: string[]): Promise<Candidate> {
  const file = path.join(dir, 'events.duckdb');
  const instance = await DuckDBInstance.create(file);
  const conn = await instance.connect();
  // Tally's multi-tenant key (project, collection) would lead the sort order; one collection here.
  await conn.run(`
    CREATE TABLE events (project VARCHAR NOT NULL, collection VARCHAR NOT NULL, id VARCHAR NOT NULL,
      ts BIGINT NOT NULL, body VARCHAR NOT NULL,
      ${columns.map((c) => `${q(c)} ${DUCK_TYPES[kindOf(c)][0]}`).join(',\n      ')})`);
  const types: DuckDBType[] = [
    VARCHAR,
    VARCHAR,
    VARCHAR,
    BIGINT,
    VARCHAR,
    ...columns.map((c) => DUCK_TYPES[kindOf(c)][1]),
  ];
  const loadMs = await timed(async () => {
    const appender: DuckDBAppender = await conn.createAppender('events');
    const cols: unknown[][] = types.map(() => []);
    const flush = () => {
      const chunk = DuckDBDataChunk.create(types, cols[0].length);
      for (let c = 0; c < types.length; c++)
        chunk.setColumnValues(c, cols[c] as Parameters<DuckDBDataChunk['setColumnValues']>[1]);
      appender.appendDataChunk(chunk);
      for (const col of cols) col.length = 0;
    };
    const flat = new Map<string, unknown>();
    for (const e of bakeoffEvents(SEED, EVENTS)) {
      flat.clear();
      flatten(e.body, flat);
      for (const k of flat.keys()) if (!columns.includes(k)) unknownColumn(k);
      cols[0].push(PROJECT);
      cols[1].push(COLLECTION);
      cols[2].push(e.id);
      cols[3].push(BigInt(e.ts));
      cols[4].push(JSON.stringify(e.body));
      for (let c = 0; c < columns.length; c++) cols[5 + c].push(flat.get(columns[c]) ?? null);
      if (cols[0].length === DUCK_CHUNK) flush();
    }
    if (cols[0].length > 0) flush();
    appender.closeSync();
    await conn.run('CHECKPOINT');
  });
  const range = `project = '${PROJECT}' AND collection = '${COLLECTION}' AND ts >= ${BAKEOFF_START} AND ts < ${BAKEOFF_END}`;
  const sql = typedSql(
    range,
    'quantile_cont',
    `${BUCKETS_SQL} SELECT b.s AS s, count(e.ts) AS n FROM b
       LEFT JOIN events e ON e.project = '${PROJECT}' AND e.collection = '${COLLECTION}' AND e.ts >= b.s AND e.ts < b.e
       GROUP BY b.d, b.s ORDER BY b.d`,
  );
  const one = (text: string) => async () => canon(await duckValue(conn, text));
  const rows = async (text: string) =>
    (await conn.runAndReadAll(text))
      .getRowsJS()
      .map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  return {
    name: 'DuckDB typed columns',
    scale: EVENTS,
    loadMs,
    diskBytes: bytesOf(file, `${file}.wal`),
    answers: {
      count: one(sql.count),
      eq: one(sql.eq),
      or: one(sql.or),
      sum: async () => groups((await rows(sql.sum)).map(([k, v]) => ({ k, v }))),
      unique: one(sql.unique),
      p90: one(sql.p90),
      daily: async () => canon(await rows(sql.daily)),
      mixedNum: one(sql.mixedNum),
      mixedStr: one(sql.mixedStr),
      extract: async () => {
        const sink = new NullSink();
        const result = await conn.stream(sql.extract);
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          const ids = chunk.getColumnValues(0) as string[];
          const bodies = chunk.getColumnValues(1) as string[];
          for (let i = 0; i < ids.length; i++) sink.write(ids[i], bodies[i]);
        }
        return sink.answer();
      },
    },
    close: async () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

// ---------------------------------------------------------------------------
// Tally today, on the sample

async function loadTallySample(dir: string): Promise<{ tally: Candidate; sqlite: Candidate }> {
  const file = path.join(dir, 'tally.db');
  const db = new SqliteDatabase(file);
  const store = new SqliteEventStore(db);
  const loadMs = await timed(async () => {
    let batch: CollectionEvent[] = [];
    for (const e of bakeoffEvents(SEED, SAMPLE)) {
      batch.push({
        collection: COLLECTION,
        id: e.id,
        timestamp: e.ts,
        event: e.body as JsonObject,
      });
      if (batch.length === 1000) {
        await store.insert(PROJECT, batch);
        batch = [];
      }
    }
    if (batch.length > 0) await store.insert(PROJECT, batch);
  });
  const limits = {
    maxGroups: 1_000_000,
    maxExtractionEvents: 100_000_000,
    deadlineMs: 3_600_000,
  };
  const answers: Record<string, () => Promise<Answer>> = {};
  for (const spec of QUERIES) {
    const query = parseQuery(
      spec.analysis,
      { event_collection: COLLECTION, ...spec.params },
      limits,
    );
    answers[spec.key] = async () => {
      const res = await executeQuery(query, store, { projectId: PROJECT, limits });
      return spec.toAnswer(res.result);
    };
  }
  const reader = new Database(file, { readonly: true });
  return {
    tally: {
      name: `Tally today (engine over SqliteEventStore, ${fmt(SAMPLE)} events, scaled)`,
      scale: SAMPLE,
      loadMs,
      diskBytes: bytesOf(file, `${file}-wal`),
      answers,
      close: async () => db.close(),
    },
    sqlite: {
      name: 'SQLite JSON body (sample)',
      scale: SAMPLE,
      loadMs: 0,
      diskBytes: 0,
      answers: sqliteJsonAnswers(reader),
      close: async () => void reader.close(),
    },
  };
}

// ---------------------------------------------------------------------------

interface Cell {
  ms: number;
  rate: number;
}

async function measure(
  candidate: Candidate,
  reference: Map<string, Answer>,
  mismatches: string[],
  referenceName: string,
): Promise<Map<string, Cell>> {
  const cells = new Map<string, Cell>();
  for (const spec of QUERIES) {
    const run = candidate.answers[spec.key];
    // The check doubles as the warm-up.
    const answer = await run();
    const expected = reference.get(spec.key);
    if (expected === undefined) reference.set(spec.key, answer);
    else if (expected !== answer)
      mismatches.push(
        `${candidate.name} / ${spec.label}: ${answer.slice(0, 300)} != ${referenceName}: ${expected.slice(0, 300)}`,
      );
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await timed(run));
    const ms = median(times);
    // Figures are for the full collection: Tally's, measured on the sample, are scaled up.
    const target = spec.key === 'extract' ? EXTRACT : EVENTS;
    const events = Math.min(target, candidate.scale);
    const cell = { ms: (ms * target) / events, rate: Math.round(events / (ms / 1000)) };
    cells.set(spec.key, cell);
    process.stderr.write(
      `  ${candidate.name} | ${spec.label}: ${ms.toFixed(1)} ms (${fmt(cell.rate)} events/s)\n`,
    );
  }
  return cells;
}

function ms(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join('/tmp', 'tally-bakeoff-'));
  const mismatches: string[] = [];
  const results: Array<{ candidate: Candidate; cells: Map<string, Cell> }> = [];
  const naive: string[] = [];
  const started = Date.now();
  process.stderr.write(
    `engine-bakeoff: ${fmt(EVENTS)} events (sample ${fmt(SAMPLE)}), seed ${SEED}, data in ${root}\n`,
  );
  try {
    // 1. Tally's engine vs SQLite's SQL on the sample: the SQL's Keen semantics.
    const sampleDir = path.join(root, 'sample');
    fs.mkdirSync(sampleDir);
    const sample = await loadTallySample(sampleDir);
    const sampleRef = new Map<string, Answer>();
    process.stderr.write(`Tally sample loaded in ${(sample.tally.loadMs / 1000).toFixed(1)} s\n`);
    try {
      const tallyCells = await measure(sample.tally, sampleRef, mismatches, 'Tally');
      for (const spec of QUERIES) {
        const sql = await sample.sqlite.answers[spec.key]();
        if (sql !== sampleRef.get(spec.key))
          mismatches.push(
            `sample / ${spec.label}: SQLite SQL ${sql.slice(0, 300)} != Tally ${sampleRef.get(spec.key)!.slice(0, 300)}`,
          );
      }
      results.push({ candidate: sample.tally, cells: tallyCells });
    } finally {
      await sample.sqlite.close();
      await sample.tally.close();
    }

    // 2. The candidates on the full collection.
    const columns = typedColumns();
    process.stderr.write(`typed columns (${columns.length}): ${columns.join(', ')}\n`);
    const reference = new Map<string, Answer>();
    const loaders: Array<[string, () => Promise<Candidate>]> = [
      ['sqlite-json', () => loadSqliteJson(path.join(root, 'sqlite-json'))],
      ['sqlite-typed', () => loadSqliteTyped(mkdir(root, 'sqlite-typed'), columns)],
      ['duckdb', () => loadDuckdb(mkdir(root, 'duckdb'), columns)],
    ];
    for (const [, load] of loaders) {
      const candidate = await load();
      process.stderr.write(
        `${candidate.name}: loaded in ${(candidate.loadMs / 1000).toFixed(1)} s, ${(candidate.diskBytes / 1e6).toFixed(0)} MB\n`,
      );
      try {
        const cells = await measure(candidate, reference, mismatches, 'SQLite JSON body');
        results.push({ candidate, cells });
        if (candidate.naive)
          naive.push(
            `${candidate.name}: \`${candidate.naive.sql}\` counts ${await candidate.naive.run()} events; Keen's answer is ${reference.get('mixedNum')}`,
          );
      } finally {
        await candidate.close();
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const fastest = new Map<string, number>();
  for (const spec of QUERIES)
    fastest.set(spec.key, Math.min(...results.map((r) => r.cells.get(spec.key)?.ms ?? Infinity)));
  const names = results.map((r) => r.candidate.name);
  const out: string[] = [
    `engine-bakeoff: ${fmt(EVENTS)} events over 30 days (${BAKEOFF_ZONE}), median of ${RUNS} runs after a warm-up; ` +
      `Tally today measured on ${fmt(SAMPLE)} events and scaled; ${os.cpus().length} CPUs; ${((Date.now() - started) / 1000).toFixed(0)} s in all`,
    '',
    'Queries: ms at the full event count (events/s; time vs the fastest)',
    '',
    `| query | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...QUERIES.map(
      (spec) =>
        `| ${spec.label} | ${results
          .map((r) => {
            const c = r.cells.get(spec.key);
            return c
              ? `${ms(c.ms)} (${fmt(c.rate)}/s; ${(c.ms / fastest.get(spec.key)!).toFixed(1)}x)`
              : '-';
          })
          .join(' | ')} |`,
    ),
    '',
    'Load and disk',
    '',
    '| candidate | events | load s | events/s | on disk MB | bytes/event |',
    '|---|---|---|---|---|---|',
    ...results.map(
      ({ candidate: c }) =>
        `| ${c.name} | ${fmt(c.scale)} | ${(c.loadMs / 1000).toFixed(1)} | ${fmt(Math.round(c.scale / (c.loadMs / 1000)))} | ` +
        `${(c.diskBytes / 1e6).toFixed(0)} | ${Math.round(c.diskBytes / c.scale)} |`,
    ),
    '',
    'Mixed-type property `score` (number, word, numeric string, null or missing):',
    ...naive.map((line) => `- ${line}`),
    '',
  ];
  process.stdout.write(out.join('\n'));
  if (mismatches.length > 0) {
    process.stderr.write(`\n*** MISMATCH: answers differ ***\n${mismatches.join('\n')}\n`);
    process.exitCode = 1;
  }
}

function mkdir(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
