/**
 * The NDJSON export (`POST /queries/extraction/stream`) of a standalone server,
 * end to end: EXTRACTION_EVENTS generated events (default 1,000,000; the engine
 * bench's collection) written through the HTTP batch path, then exported
 * through HTTP BENCH_RUNS times (default 3), each run next to a bare read of
 * the same bodies from the server's SQLite file in the same run. The server
 * runs without its columnar copy (QUERY_COLUMNAR=false), which an export does
 * not use, so the copy's fill does not share the machine with the export.
 *
 * Prints: the load rate, each run's events/s and bytes, the median ratio to
 * the bare read, and the server's peak RSS (VmHWM) after the load and after
 * the exports. Every run must stream exactly the loaded events, oldest
 * first, or the bench exits non-zero.
 * Run: `npm run bench -- extraction` (figures in docs/benchmarks.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { BAKEOFF_END, BAKEOFF_START, bakeoffEvent } from './support/bakeoff-events';
import { median } from './support/load';
import { procStatusBytes, ROOT, Running, startNode, tempDir } from './support/processes';
import { fmt, rate, timed } from './support/timing';

const EVENTS = Number(process.env.EXTRACTION_EVENTS || 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SEED = 20240225;
const BATCH = 5_000;
const WRITERS = 2;
const COLLECTION = 'c';

interface Keys {
  write_key: string;
  read_key: string;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

async function loadEvents(base: string, keys: Keys): Promise<number> {
  let next = 0;
  const writer = async () => {
    for (;;) {
      const from = next;
      if (from >= EVENTS) return;
      next += BATCH;
      const events = [];
      for (let i = from; i < Math.min(EVENTS, from + BATCH); i++) {
        const { body } = bakeoffEvent(SEED, i, EVENTS);
        const keen = body.keen as { timestamp: string };
        events.push({ ...body, keen: { timestamp: keen.timestamp } });
      }
      const res = await fetch(`${base}/events`, {
        method: 'POST',
        headers: { authorization: keys.write_key, 'content-type': 'application/json' },
        body: JSON.stringify({ [COLLECTION]: events }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`load answered ${res.status}: ${text.slice(0, 300)}`);
      if ((from / BATCH) % 40 === 0) process.stdout.write(`  loaded ${fmt(from)}\r`);
    }
  };
  return timed(() => Promise.all(Array.from({ length: WRITERS }, writer)));
}

/** One export: the lines counted as they arrive, checked in time order. */
async function exportAll(base: string, keys: Keys): Promise<{ lines: number; bytes: number }> {
  const res = await fetch(`${base}/queries/extraction/stream`, {
    method: 'POST',
    headers: { authorization: keys.read_key, 'content-type': 'application/json' },
    body: JSON.stringify({
      event_collection: COLLECTION,
      timeframe: {
        start: new Date(BAKEOFF_START).toISOString(),
        end: new Date(BAKEOFF_END).toISOString(),
      },
    }),
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let lines = 0;
  let bytes = 0;
  let tail = '';
  let last = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    const text = tail + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    tail = parts.pop()!;
    for (const line of parts) {
      // Spot checks, not a parse of every line: the order of the timestamps.
      if (lines % 10_000 === 0) {
        const ts = (JSON.parse(line) as { keen: { timestamp: string } }).keen.timestamp;
        if (ts < last) throw new Error(`line ${lines} is older than an earlier one`);
        last = ts;
      }
      lines++;
    }
  }
  if (tail !== '') throw new Error(`the export ended inside a line: ${tail.slice(0, 200)}`);
  return { lines, bytes };
}

async function main(): Promise<void> {
  const dataDir = tempDir('tally-extraction-bench-');
  let server: Running | undefined;
  try {
    server = await startNode(
      path.join(ROOT, 'dist/apps/standalone/src/main.js'),
      { DATA_DIR: dataDir, LOG_LEVEL: 'warn', QUERY_COLUMNAR: 'false' },
      'listening on',
    );
    const keys = JSON.parse(
      /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(server.output)![1],
    ) as Keys;
    const base = `http://127.0.0.1:${server.port}/3.0/projects/default`;
    const pid = server.child.pid!;
    process.stdout.write(`extraction bench: ${fmt(EVENTS)} events, ${RUNS} exports\n`);
    const loadMs = await loadEvents(base, keys);
    process.stdout.write(
      `load through POST /events (${fmt(BATCH)} per request, ${WRITERS} writers): ${(loadMs / 1000).toFixed(1)} s, ${fmt(rate(EVENTS, loadMs))} events/s; server peak RSS ${mib(procStatusBytes(pid, 'VmHWM'))}\n`,
    );

    const db = new Database(path.join(dataDir, 'tally.db'), { readonly: true });
    const { project } = db.prepare('SELECT project FROM events LIMIT 1').get() as {
      project: string;
    };
    const bodies = db.prepare(
      'SELECT body FROM events WHERE project = ? AND collection = ? AND ts >= ? AND ts < ? ORDER BY ts, id',
    );
    const ratios: number[] = [];
    const rates: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      let exported = { lines: 0, bytes: 0 };
      const exportMs = await timed(async () => (exported = await exportAll(base, keys)));
      let bare = 0;
      const bareMs = await timed(async () => {
        for (const row of bodies.iterate(
          project,
          COLLECTION,
          BAKEOFF_START,
          BAKEOFF_END,
        ) as IterableIterator<{
          body: string;
        }>) {
          bare += row.body.length > 0 ? 1 : 0;
        }
      });
      if (exported.lines !== EVENTS || bare !== EVENTS)
        throw new Error(`exported ${exported.lines} and read ${bare} of ${EVENTS} events`);
      rates.push(rate(EVENTS, exportMs));
      ratios.push(bareMs / exportMs);
      process.stdout.write(
        `run ${run}: export ${fmt(rate(EVENTS, exportMs))} events/s (${mib(exported.bytes)} in ${(exportMs / 1000).toFixed(2)} s), ` +
          `bare SQLite read of the bodies ${fmt(rate(EVENTS, bareMs))}/s, ratio ${(bareMs / exportMs).toFixed(2)}\n`,
      );
    }
    db.close();
    process.stdout.write(
      `median: export ${fmt(median(rates))} events/s, ${median(ratios).toFixed(2)}x the bare read; server peak RSS ${mib(procStatusBytes(pid, 'VmHWM'))}\n`,
    );
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
