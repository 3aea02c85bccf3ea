/**
 * The embedded engine at volume: ENGINE_EVENTS generated events (default
 * 10,000,000 over 30 days; the bake-off's collection: ~20 properties, nested
 * objects, a mixed-type property, a high-cardinality user id, an array) stored
 * in the standalone server's SQLite layout, copied into the columnar copy, and
 * queried through QueryService (the code behind the HTTP endpoints), each
 * query next to hand-written DuckDB SQL for the same answer on the same table
 * in the same run. Run: `npm run bench -- engine` (figures in docs/benchmarks.md).
 *
 * Prints: load time and rate (the store's insert, as the writer thread runs
 * it), the copy's fill time, both files' sizes, each query's median and its
 * ratio to the native SQL, the NDJSON extraction rate against a bare SQLite
 * read of the same bodies, and the process's peak RSS while copying and
 * querying. Knobs: ENGINE_EVENTS, BENCH_RUNS (5), BENCH_SEED. Data lives under
 * /tmp and is removed at the end, unless BENCH_DATA_DIR names a directory to
 * keep it in: a later run with the same BENCH_DATA_DIR and ENGINE_EVENTS skips
 * the load and the fill, so its figures are those of a process that only
 * queries (a server restarted on a filled copy). A compiled answer that
 * differs from the native one, or a query that is not compiled, exits non-zero.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '@app/config';
import { QueryService } from '@app/core';
import { ColumnarCopy, tuneDuckdbAllocator } from '@app/storage/duckdb';
import { SqliteChangeFeed, SqliteDatabase, SqliteEventStore } from '@app/storage/sqlite';
import { BAKEOFF_END, BAKEOFF_START, BAKEOFF_ZONE } from './support/bakeoff-events';
import {
  ENGINE_COLLECTION,
  ENGINE_QUERIES,
  ENGINE_TIMEFRAME,
  EngineQuery,
  loadEngineEvents,
} from './support/engine-data';
import { median } from './support/load';
import { fmt, timed } from './support/timing';

const EVENTS = Number(process.env.ENGINE_EVENTS || 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const EXTRACT = Math.min(EVENTS, 1_000_000);
const PROJECT = 'bench';
const COLLECTION = ENGINE_COLLECTION;

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
sampler.unref();
const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

const timeframe = ENGINE_TIMEFRAME;
const WHERE = 'project = $1 AND collection = $2 AND ts >= $3 AND ts < $4';
const BOUNDS: (string | number)[] = [PROJECT, COLLECTION, BAKEOFF_START, BAKEOFF_END];

/** What the engine bench adds to each query: the hand-written SQL and how to compare. */
interface Native {
  native: string;
  /** The compiled answer reduced to what the native SQL returns, for the equality check. */
  reduce: (result: unknown) => unknown;
  nativeReduce: (rows: unknown[][]) => unknown;
}
type Case = EngineQuery & Native;

const asCount = (rows: unknown[][]) => Number(rows[0][0]);
/** Groups as sorted [key, value] pairs: both sides list them in any order. */
const groupsOf = (result: unknown) =>
  (result as Record<string, unknown>[])
    .map((g) => [String(g['user.country']), Number(g.result)] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));

/** The native side of ENGINE_QUERIES, in the same order. */
const NATIVE: Native[] = [
  {
    native: `SELECT count(*) FROM events WHERE ${WHERE}`,
    reduce: Number,
    nativeReduce: asCount,
  },
  {
    native: `SELECT count(*) FROM events WHERE ${WHERE} AND {user.country:s} = 'US'`,
    reduce: Number,
    nativeReduce: asCount,
  },
  {
    native: `SELECT count(*) FROM events WHERE ${WHERE} AND ({type:s} = 'purchase' OR {price:n} > 900)`,
    reduce: Number,
    nativeReduce: asCount,
  },
  {
    native: `SELECT {user.country:s}, sum({price:n}) FROM events WHERE ${WHERE} GROUP BY 1`,
    reduce: groupsOf,
    nativeReduce: (rows) =>
      rows.map(([k, v]) => [String(k), Number(v)] as const).sort(([a], [b]) => (a < b ? -1 : 1)),
  },
  {
    native: `SELECT count(DISTINCT {user.id:s}) FROM events WHERE ${WHERE}`,
    reduce: Number,
    nativeReduce: asCount,
  },
  {
    native: `SELECT quantile_disc({price:n}, 0.9) FROM events WHERE ${WHERE}`,
    reduce: () => null,
    nativeReduce: () => null,
  },
  {
    // What one would write by hand: local days with DuckDB's ICU time zones.
    native:
      `SELECT date_trunc('day', timezone('${BAKEOFF_ZONE}', make_timestamptz(ts * 1000))) AS d, count(*) ` +
      `FROM events WHERE ${WHERE} GROUP BY 1 ORDER BY 1`,
    reduce: (result) =>
      (result as { value: number }[]).filter((d) => d.value > 0).map((d) => d.value),
    nativeReduce: (rows) => rows.map((r) => Number(r[1])),
  },
];

const cases = (): Case[] => ENGINE_QUERIES.map((q, i) => ({ ...q, ...NATIVE[i] }));

const size = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);

async function main(): Promise<void> {
  const kept = process.env.BENCH_DATA_DIR;
  const dir = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tally-engine-bench-'));
  if (kept) fs.mkdirSync(kept, { recursive: true });
  const filled = kept !== undefined && fs.existsSync(path.join(dir, 'filled'));
  const lines: string[] = [];
  const failures: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    const db = new SqliteDatabase(path.join(dir, 'tally.db'));
    const store = new SqliteEventStore(db);
    say(
      `engine bench: ${fmt(EVENTS)} events over 30 days, ${RUNS} runs per query (median), ${os.cpus().length} cores`,
    );
    if (filled) say(`reusing the loaded and filled data in ${dir}`);
    else {
      const loadMs = await loadEngineEvents(store, PROJECT, EVENTS);
      say(
        `load into SQLite (the store's insert, 5,000 per transaction): ${(loadMs / 1000).toFixed(1)} s, ${fmt(Math.round(EVENTS / (loadMs / 1000)))} events/s`,
      );
    }

    peakRss = process.memoryUsage().rss;
    tuneDuckdbAllocator(); // as the server does before its columnar thread starts
    const copy = await ColumnarCopy.open(new SqliteChangeFeed(db), {
      path: path.join(dir, 'columnar.duckdb'),
      threads: Number(process.env.QUERY_COLUMNAR_THREADS || 1),
      memoryLimit: `${process.env.QUERY_COLUMNAR_MEMORY_MB || 256}MB`,
    });
    const fillMs = await timed(() => copy.sync());
    if (!filled) {
      say(
        `columnar copy filled: ${(fillMs / 1000).toFixed(1)} s, ${fmt(Math.round(EVENTS / (fillMs / 1000)))} events/s; peak RSS ${mib(peakRss)}`,
      );
      if (kept) fs.writeFileSync(path.join(dir, 'filled'), String(EVENTS));
    } else say(`RSS after opening the filled copy: ${mib(process.memoryUsage().rss)}`);
    const walSize = size(path.join(dir, 'tally.db-wal'));
    say(
      `data dir: tally.db ${mib(size(path.join(dir, 'tally.db')) + walSize)} (SQLite JSON layout), columnar.duckdb ${mib(size(path.join(dir, 'columnar.duckdb')) + size(path.join(dir, 'columnar.duckdb.wal')))}`,
    );

    const config = loadConfig('standalone', {});
    const service = new QueryService(store, config, copy);
    say('');
    say(`| query | Tally (QueryService) | native DuckDB SQL | ratio native/Tally | path |`);
    say(`|---|---:|---:|---:|---|`);
    peakRss = process.memoryUsage().rss;
    for (const c of cases()) {
      let pathTaken = '';
      let answer: unknown;
      let native: unknown[][] = [];
      const tally: number[] = [];
      const sql: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        tally.push(
          await timed(async () => {
            answer = (
              await service.run(
                PROJECT,
                c.analysis,
                { event_collection: COLLECTION, timeframe, ...c.params },
                undefined,
                (p) => (pathTaken = p),
              )
            ).result;
          }),
        );
        sql.push(await timed(async () => (native = await copy.nativeRows(c.native, BOUNDS))));
      }
      const t = median(tally);
      const n = median(sql);
      say(
        `| ${c.name} | ${t.toFixed(1)} ms | ${n.toFixed(1)} ms | ${(n / t).toFixed(2)} | ${pathTaken} |`,
      );
      if (pathTaken !== 'compiled') failures.push(`${c.name}: answered by the ${pathTaken} path`);
      const a = JSON.stringify(c.reduce(answer));
      const b = JSON.stringify(c.nativeReduce(native));
      if (a !== b)
        failures.push(`${c.name}: Tally ${a.slice(0, 200)} vs native ${b.slice(0, 200)}`);
    }
    say(`peak RSS while querying: ${mib(peakRss)}`);

    // NDJSON extraction of EXTRACT events: the streamed export (QueryService,
    // which reads SQLite's bodies) against a bare read of the same bodies.
    const end = BAKEOFF_START + Math.floor(((BAKEOFF_END - BAKEOFF_START) * EXTRACT) / EVENTS);
    const extractFrame = { start: timeframe.start, end: new Date(end).toISOString() };
    peakRss = process.memoryUsage().rss;
    let streamed = 0;
    let bytes = 0;
    const streamMs = await timed(async () => {
      const { pages } = service.streamExtraction(PROJECT, {
        event_collection: COLLECTION,
        timeframe: extractFrame,
      });
      for await (const page of pages) {
        for (const line of page) bytes += line.length + 1;
        streamed += page.length;
      }
    });
    const streamRss = peakRss;
    let bare = 0;
    const bareMs = await timed(async () => {
      for (const row of db.reader
        .prepare(
          'SELECT body FROM events WHERE project = ? AND collection = ? AND ts >= ? AND ts < ? ORDER BY ts, id',
        )
        .iterate(PROJECT, COLLECTION, BAKEOFF_START, end) as IterableIterator<{ body: string }>) {
        bare += row.body.length > 0 ? 1 : 0;
      }
    });
    say('');
    say(
      `NDJSON extraction of ${fmt(streamed)} events (${mib(bytes)}): ${fmt(Math.round(streamed / (streamMs / 1000)))} events/s ` +
        `vs a bare SQLite read of the bodies ${fmt(Math.round(bare / (bareMs / 1000)))}/s (ratio ${(bareMs / streamMs).toFixed(2)}); peak RSS ${mib(streamRss)}`,
    );
    if (streamed !== EXTRACT && Math.abs(streamed - EXTRACT) > EXTRACT * 0.01)
      failures.push(`extraction streamed ${streamed}`);
    await copy.close();
    db.close();
  } finally {
    if (!kept) fs.rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED:\n${failures.join('\n')}\n`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
