/**
 * The query process's memory at the engine bench's volume, measured on the
 * real standalone server (dist/apps/standalone), not in a bench process:
 * ENGINE_EVENTS generated events (default 10,000,000; the engine bench's
 * collection) are stored in a data dir without a columnar copy, as an upgrade
 * or a restore leaves it, then
 *   1. the server starts on it and fills its copy in the columnar thread
 *      (the largest catch-up there is);
 *   2. it idles for SETTLE_S seconds (10);
 *   3. it answers the engine bench's seven queries BENCH_RUNS times (3) each
 *      through HTTP, every one on the compiled path;
 *   4. the baseline of the same run: a second server started on the filled
 *      copy answers the same queries (a process that only ever queried).
 * The server's RSS is read from /proc every 100 ms; the bench prints each
 * phase's peak and the kernel's high-water mark (VmHWM) of both processes,
 * and exits non-zero if a query is not compiled or answers a count other
 * than the events stored. The bound is 1 GiB throughout.
 * Run: `npm run bench -- engine-rss` (figures in docs/benchmarks.md).
 * Knobs: ENGINE_EVENTS, BENCH_RUNS, SETTLE_S, BENCH_DATA_DIR (keep the loaded
 * SQLite file there: a rerun skips the load, never the fill),
 * BENCH_SERVER_DIST (run another build's server), and the server's own
 * QUERY_COLUMNAR_* settings, passed through.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonText } from '@app/events';
import { SqliteDatabase, SqliteEventStore } from '@app/storage/sqlite';
import {
  ENGINE_COLLECTION,
  ENGINE_QUERIES,
  ENGINE_TIMEFRAME,
  loadEngineEvents,
} from './support/engine-data';
import { median } from './support/load';
import { procStatusBytes, ROOT, Running, startNode, tempDir } from './support/processes';
import { fmt, timed } from './support/timing';

const EVENTS = Number(process.env.ENGINE_EVENTS || 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SETTLE_S = Number(process.env.SETTLE_S || 10);
const GIB = 1024 * 1024 * 1024;
/** BENCH_SERVER_DIST: the dist/ of another build (e.g. a worktree of an earlier commit). */
const SERVER = path.join(
  process.env.BENCH_SERVER_DIST ?? path.join(ROOT, 'dist'),
  'apps/standalone/src/main.js',
);
const mib = (bytes: number) => `${fmt(Math.round(bytes / 1024 / 1024))} MiB`;

/** The peak RSS of `pid` over a phase, sampled every 100 ms. */
function rssSampler(pid: number): { peak(): number; reset(): void; stop(): void } {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, procStatusBytes(pid, 'VmRSS'));
    } catch {
      // The process has exited; its last samples stand.
    }
  };
  const timer = setInterval(sample, 100);
  sample();
  return {
    peak: () => (sample(), peak),
    reset: () => {
      peak = 0;
      sample();
    },
    stop: () => clearInterval(timer),
  };
}

async function startServer(dataDir: string): Promise<Running> {
  return startNode(SERVER, { DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 'listening on');
}

/** Resolves when `done` holds, polled every 200 ms while the server runs. */
async function until(server: Running, done: () => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    if (await done()) return;
    if (server.child.exitCode !== null) throw new Error(`server exited:\n${server.output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The server logs the end of every catch-up of more than 10,000 rows. */
const caughtUp = (server: Running) =>
  until(server, () => /columnar copy: caught up to row/.test(server.output));

/**
 * A copy that needs no catch-up logs nothing: it is ready when a query is
 * compiled. The probe's one-minute timeframe keeps the TypeScript engine's
 * answers, until then, small.
 */
const compiling = (server: Running, base: string, readKey: string) =>
  until(server, async () => {
    const minute = {
      start: ENGINE_TIMEFRAME.start,
      end: new Date(Date.parse(ENGINE_TIMEFRAME.start) + 60_000).toISOString(),
    };
    const probe = await query(base, readKey, 'count', { timeframe: minute });
    return probe.path === 'compiled';
  });

interface Answered {
  ms: number;
  path: string;
  result: unknown;
}

async function query(
  base: string,
  readKey: string,
  analysis: string,
  params: object,
): Promise<Answered> {
  let res: Response | undefined;
  let text = '';
  const ms = await timed(async () => {
    res = await fetch(`${base}/queries/${analysis}`, {
      method: 'POST',
      headers: { authorization: readKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        event_collection: ENGINE_COLLECTION,
        timeframe: ENGINE_TIMEFRAME,
        ...params,
      }),
    });
    text = await res.text();
  });
  if (res!.status !== 200) throw new Error(`${analysis} answered ${res!.status}: ${text}`);
  const body = parseJsonText(text) as { result: unknown };
  return { ms, path: res!.headers.get('x-tally-query-path') ?? '?', result: body.result };
}

/** The seven queries, RUNS times each: median ms per query; failures appended. */
async function queryAll(base: string, readKey: string, failures: string[]): Promise<number[]> {
  const medians: number[] = [];
  for (const q of ENGINE_QUERIES) {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const a = await query(base, readKey, q.analysis, q.params);
      times.push(a.ms);
      if (a.path !== 'compiled') failures.push(`${q.name}: answered by the ${a.path} path`);
      if (q.name === 'count' && a.result !== EVENTS)
        failures.push(`count answered ${String(a.result)} of ${EVENTS}`);
    }
    medians.push(median(times));
  }
  return medians;
}

async function main(): Promise<void> {
  const kept = process.env.BENCH_DATA_DIR;
  const dataDir = kept ?? tempDir('tally-engine-rss-');
  fs.mkdirSync(dataDir, { recursive: true });
  const keysFile = path.join(dataDir, 'bench-keys.json');
  const failures: string[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let server: Running | undefined;
  try {
    say(
      `engine-rss bench: ${fmt(EVENTS)} events, ${RUNS} runs per query, on the standalone server`,
    );
    const loaded = fs.existsSync(keysFile);
    if (!loaded) {
      // A first start creates project `default` and prints its keys once.
      server = await startNode(
        SERVER,
        { DATA_DIR: dataDir, LOG_LEVEL: 'warn', QUERY_COLUMNAR: 'false' },
        'listening on',
      );
      const keys = /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(server.output)![1];
      await server.stop();
      server = undefined;
      const db = new SqliteDatabase(path.join(dataDir, 'tally.db'));
      const loadMs = await loadEngineEvents(new SqliteEventStore(db), 'default', EVENTS);
      db.close();
      fs.writeFileSync(keysFile, keys);
      say(`load into SQLite: ${(loadMs / 1000).toFixed(1)} s`);
    } else say(`reusing the loaded SQLite file in ${dataDir}`);
    const { read_key: readKey } = parseJsonText(fs.readFileSync(keysFile, 'utf8')) as {
      read_key: string;
    };
    // Every run fills the copy from nothing: the catch-up is what is measured.
    for (const file of ['columnar.duckdb', 'columnar.duckdb.wal'])
      fs.rmSync(path.join(dataDir, file), { force: true });

    server = await startServer(dataDir);
    const base = `http://127.0.0.1:${server.port}/3.0/projects/default`;
    const rss = rssSampler(server.child.pid!);
    const startRss = rss.peak();
    const fillMs = await timed(() => caughtUp(server!));
    const fillPeak = rss.peak();
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const settled = procStatusBytes(server.child.pid!, 'VmRSS');
    rss.reset();
    const filledTimes = await queryAll(base, readKey, failures);
    const filledQueryPeak = rss.peak();
    const filledHwm = procStatusBytes(server.child.pid!, 'VmHWM');
    rss.stop();
    await server.stop();

    server = await startServer(dataDir);
    const base2 = `http://127.0.0.1:${server.port}/3.0/projects/default`;
    const rss2 = rssSampler(server.child.pid!);
    await compiling(server, base2, readKey);
    const openedRss = rss2.peak();
    rss2.reset();
    const onlyTimes = await queryAll(base2, readKey, failures);
    const onlyQueryPeak = rss2.peak();
    const onlyHwm = procStatusBytes(server.child.pid!, 'VmHWM');
    rss2.stop();
    await server.stop();
    server = undefined;

    say('');
    say(`| phase | server that filled its copy | server restarted on the filled copy |`);
    say(`|---|---:|---:|`);
    say(`| after start | ${mib(startRss)} | ${mib(openedRss)} |`);
    say(`| peak while filling (${(fillMs / 1000).toFixed(1)} s) | ${mib(fillPeak)} | – |`);
    say(`| ${SETTLE_S} s after the fill | ${mib(settled)} | – |`);
    say(`| peak while querying | ${mib(filledQueryPeak)} | ${mib(onlyQueryPeak)} |`);
    say(`| high-water mark (VmHWM) | ${mib(filledHwm)} | ${mib(onlyHwm)} |`);
    say('');
    say(`| query | after the fill | restarted | `);
    say(`|---|---:|---:|`);
    ENGINE_QUERIES.forEach((q, i) =>
      say(`| ${q.name} | ${filledTimes[i].toFixed(1)} ms | ${onlyTimes[i].toFixed(1)} ms |`),
    );
    const worst = Math.max(filledHwm, onlyHwm);
    say('');
    say(
      `query process RSS ${worst < GIB ? 'stayed under' : 'went over'} 1 GiB (highest ${mib(worst)})`,
    );
  } finally {
    await server?.stop();
    if (!kept) fs.rmSync(dataDir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED:\n${[...new Set(failures)].join('\n')}\n`);
    process.exit(1);
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
