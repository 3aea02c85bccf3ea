/**
 * Query isolation in the standalone server, where queries share the event
 * loop with ingestion: project B's single-event writes with no read load
 * (baseline) and while project A's read key runs the worst queries the limits
 * allow, as many at once as a project may run (QUERY_CONCURRENCY_PER_PROJECT):
 * a count under a maximal `in` list (QUERY_MAX_IN_VALUES values) over A's big
 * collection, a median over all of it, and a 50-step funnel over it.
 * Baseline and loaded phases alternate (A B A B …) so machine noise hits both.
 * Run: `npm run bench -- query-isolation` (figures in docs/benchmarks.md).
 * Target: B's p99 ≤ 50 ms while the worst queries run.
 *
 * Knobs: BENCH_BIG_EVENTS (200000), BENCH_ROUNDS (3), BENCH_SECONDS (20),
 * BENCH_WRITERS (4), BENCH_WRITER_PAUSE_MS (10), BENCH_QUERY_CLIENTS (4),
 * BENCH_IN_VALUES (10000, the default QUERY_MAX_IN_VALUES),
 * BENCH_FUNNEL_STEPS (50). Extra server settings pass through the
 * environment (e.g. QUERY_DEADLINE_MS).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { median } from './support/load';
import { ROOT, startNode, tempDir } from './support/processes';
import {
  ReadStorm,
  ReadStormQuery,
  ReadStormResult,
  writeProbe,
  WriteProbeResult,
} from './support/tenant-load';
import { fmt, lanes } from './support/timing';

const BIG_EVENTS = Number(process.env.BENCH_BIG_EVENTS || 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_SECONDS || 20);
const WRITERS = Number(process.env.BENCH_WRITERS || 4);
const WRITER_PAUSE_MS = Number(process.env.BENCH_WRITER_PAUSE_MS || 10);
const QUERY_CLIENTS = Number(process.env.BENCH_QUERY_CLIENTS || 4);
const IN_VALUES = Number(process.env.BENCH_IN_VALUES || 10_000);
const FUNNEL_STEPS = Number(process.env.BENCH_FUNNEL_STEPS || 50);
const TARGET_P99_MS = 50;
/** Loaded phases start measuring once every query client has a query running. */
const WARMUP_MS = 2000;

const BIG = 'big';
const DAY_MS = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const DAYS = 10;
const WHOLE = {
  start: new Date(T0).toISOString(),
  end: new Date(T0 + DAYS * DAY_MS).toISOString(),
};

interface Keys {
  id: string;
  write_key: string;
  read_key: string;
}

function bigEvent(i: number) {
  return {
    n: i,
    price: (i % 1000) / 4,
    country: ['FR', 'US', 'DE', 'JP', 'BR'][i % 5],
    user: { id: `u${i % 5000}`, premium: i % 7 === 0 },
    keen: { timestamp: new Date(T0 + Math.floor((i / BIG_EVENTS) * DAYS * DAY_MS)).toISOString() },
  };
}

/**
 * A maximal `in` list mixing every kind the loose comparison handles: ids
 * that occur, numbers, numeric strings and datetimes (misses for user.id).
 */
function inList(): (string | number)[] {
  return Array.from({ length: IN_VALUES }, (_, i) => {
    switch (i % 4) {
      case 0:
        return `u${i}`;
      case 1:
        return i;
      case 2:
        return String(i * 7);
      default:
        return new Date(T0 + i * 60_000).toISOString();
    }
  });
}

function worstQueries(): ReadStormQuery[] {
  return [
    {
      name: `count, in list of ${fmt(IN_VALUES)}`,
      analysis: 'count',
      body: {
        event_collection: BIG,
        timeframe: WHOLE,
        filters: [{ property_name: 'user.id', operator: 'in', property_value: inList() }],
      },
    },
    {
      name: 'median, whole collection',
      analysis: 'median',
      body: { event_collection: BIG, timeframe: WHOLE, target_property: 'price' },
    },
    {
      name: `funnel, ${FUNNEL_STEPS} steps`,
      analysis: 'funnel',
      body: {
        timeframe: WHOLE,
        steps: Array.from({ length: FUNNEL_STEPS }, (_, s) => ({
          event_collection: BIG,
          actor_property: 'user.id',
          filters: [{ property_name: 'price', operator: 'gte', property_value: s }],
        })),
      },
    },
  ];
}

async function post(url: string, key: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(300_000),
  });
}

async function preload(baseUrl: string, keys: Keys): Promise<void> {
  const batches: number[] = [];
  for (let i = 0; i < BIG_EVENTS; i += 5000) batches.push(i);
  await lanes(batches, 2, async (offset) => {
    const events = Array.from({ length: Math.min(5000, BIG_EVENTS - offset) }, (_, j) =>
      bigEvent(offset + j),
    );
    const res = await post(`${baseUrl}/3.0/projects/${keys.id}/events`, keys.write_key, {
      [BIG]: events,
    });
    const body = (await res.json()) as Record<string, { success: boolean }[]>;
    const ok = res.status === 200 && body[BIG].every((r) => r.success);
    if (!ok) throw new Error(`preload batch at ${offset} failed: ${res.status}`);
  });
}

/** A second project, made with the CLI on the server's data dir; usable once the key cache has it. */
async function secondProject(baseUrl: string, dataDir: string): Promise<Keys> {
  const out = execFileSync(
    process.execPath,
    [path.join(ROOT, 'dist/apps/cli/src/main.js'), 'projects', 'create', 'tenant-b', '--json'],
    {
      env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    },
  );
  const keys = JSON.parse(out.slice(out.indexOf('{'))) as Keys;
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await post(`${baseUrl}/3.0/projects/${keys.id}/events/warmup`, keys.write_key, {
      ok: 1,
    });
    if (res.status === 201) return keys;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the second project never became usable');
}

interface Phase {
  round: number;
  loaded: boolean;
  writes: WriteProbeResult;
  reads?: ReadStormResult;
}

const row = (p: Phase) =>
  `| ${p.round} | ${p.loaded ? 'A runs worst queries' : 'baseline'} | ${fmt(p.writes.requests)} | ${p.writes.failed} | ` +
  `${p.writes.p50.toFixed(1)} | ${p.writes.p99.toFixed(1)} | ${p.writes.max.toFixed(1)} |`;

async function main(): Promise<void> {
  const dataDir = tempDir('tally-bench-qi-');
  const server = await startNode(
    path.join(ROOT, 'dist/apps/standalone/src/main.js'),
    { DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    'listening on',
  );
  const baseUrl = `http://127.0.0.1:${server.port}`;
  const a = JSON.parse(
    /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(server.output)![1],
  ) as Keys;
  const phases: Phase[] = [];
  try {
    const t0 = Date.now();
    await preload(baseUrl, a);
    process.stderr.write(
      `loaded ${fmt(BIG_EVENTS)} events into project A in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    const b = await secondProject(baseUrl, dataDir);
    const probe = () =>
      writeProbe({
        baseUrl,
        projectId: b.id,
        writeKey: b.write_key,
        collection: 'steady',
        writers: WRITERS,
        pauseMs: WRITER_PAUSE_MS,
        seconds: SECONDS,
      });
    for (let round = 1; round <= ROUNDS; round++) {
      phases.push({ round, loaded: false, writes: await probe() });
      process.stderr.write(`${row(phases[phases.length - 1])}\n`);
      const storm = new ReadStorm(baseUrl, a.id, a.read_key, worstQueries()).start(QUERY_CLIENTS);
      await new Promise((r) => setTimeout(r, WARMUP_MS));
      const writes = await probe();
      const reads = await storm.stop();
      phases.push({ round, loaded: true, writes, reads });
      process.stderr.write(`${row(phases[phases.length - 1])} ${JSON.stringify(reads.outcomes)}\n`);
    }
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  report(phases);
}

function report(phases: Phase[]): void {
  const base = phases.filter((p) => !p.loaded);
  const loaded = phases.filter((p) => p.loaded);
  const med = (ps: Phase[], f: (w: WriteProbeResult) => number) =>
    median(ps.map((p) => f(p.writes)));
  const [b50, b99, bmax] = [
    med(base, (w) => w.p50),
    med(base, (w) => w.p99),
    med(base, (w) => w.max),
  ];
  const [l50, l99, lmax] = [
    med(loaded, (w) => w.p50),
    med(loaded, (w) => w.p99),
    med(loaded, (w) => w.max),
  ];
  const outcomes: Record<string, Record<string, number>> = {};
  const times: Record<string, number[]> = {};
  for (const p of loaded) {
    for (const [name, counts] of Object.entries(p.reads!.outcomes)) {
      const into = (outcomes[name] ??= {});
      for (const [k, n] of Object.entries(counts)) into[k] = (into[k] ?? 0) + n;
    }
    for (const [name, ts] of Object.entries(p.reads!.times)) (times[name] ??= []).push(...ts);
  }
  const queryRows = Object.entries(outcomes).map(([name, counts]) => {
    const done = times[name] ?? [];
    const others = Object.entries(counts)
      .filter(([k]) => k !== '200' && k !== '504')
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ');
    return `| ${name} | ${counts['200'] ?? 0} | ${counts['504'] ?? 0} | ${others || '–'} | ${done.length ? (median(done) / 1000).toFixed(1) : '–'} |`;
  });
  process.stdout.write(
    `query isolation (standalone): ${fmt(BIG_EVENTS)} events in A, B = ${WRITERS} writers (single events, ${WRITER_PAUSE_MS} ms apart), ` +
      `${ROUNDS} rounds x ${SECONDS} s per phase, ${QUERY_CLIENTS} query clients on A\n\n` +
      '| round | phase | B writes | failed | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n' +
      phases.map(row).join('\n') +
      '\n\n| medians | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n' +
      `| baseline | ${b50.toFixed(1)} | ${b99.toFixed(1)} | ${bmax.toFixed(1)} |\n` +
      `| A runs worst queries | ${l50.toFixed(1)} | ${l99.toFixed(1)} | ${lmax.toFixed(1)} |\n` +
      `| loaded / baseline | ${(l50 / b50).toFixed(2)} | ${(l99 / b99).toFixed(2)} | ${(lmax / bmax).toFixed(2)} |\n\n` +
      '| A query (all loaded phases) | completed | 504 | other | median s |\n|---|---|---|---|---|\n' +
      queryRows.join('\n') +
      `\n\ntarget: B p99 <= ${TARGET_P99_MS} ms under load: ${l99 <= TARGET_P99_MS ? 'met' : 'MISSED'} (median p99 ${l99.toFixed(1)} ms)\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
