/**
 * Standalone ingest throughput next to a bare Fastify server answering the
 * same requests, measured in the same run, alternating rounds so machine
 * noise hits both. Run: `npm run bench -- ingest-standalone` (see docs/benchmarks.md).
 * A third server, a bare NestJS app on Fastify with a guard (support/bare-nest.ts),
 * shows how much of the gap is the framework alone.
 * A fourth, the same app storing through Tally's inline queue, SQLite writer
 * thread and columnar copy (support/bare-durable.ts; BENCH_DURABLE=0 leaves it
 * out), shows what the engine leaves room for under that framework; a fifth,
 * the same without the columnar copy (sqlite-only), what the store of record does.
 *
 * Part 2: single-event ingest latency while heavy queries run on the same
 * server (a median and a count_unique over a big collection, back to back)
 * next to the same load with no query running, alternating phases.
 *
 * Part 1b: the store's own ceiling in the same run (support/store-ceiling.ts):
 * the same events prepared and written by Tally's code in the bench process,
 * no HTTP and no thread hand-off, in commits of 32 events (the most 32
 * closed-loop connections of single events can have waiting, so the best a
 * server that commits before it answers can group), of 100 (one batch
 * request's) and of 3,200 (what 32 connections' batches make one group commit).
 *
 * Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (5), BENCH_CONNECTIONS (32);
 * part 1b: BENCH_CEILING_EVENTS (200000, 0 skips it), BENCH_CEILING_COMMITS (32,100,3200);
 * part 2: BENCH_QUERY_EVENTS (100000, 0 skips it), BENCH_QUERY_WRITERS (8
 * connections), BENCH_QUERY_CLIENTS (2). BENCH_COMPARE_MAIN: the standalone
 * main.js of another build (e.g. a worktree of an earlier commit), measured
 * in the same rounds as "before". BENCH_SKIP_THROUGHPUT=1 runs part 2 alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadStat } from '@test/support/thread-stat';
import { load, LoadResult, median } from './support/load';
import { ROOT, Running, startNode, tempDir } from './support/processes';
import { CeilingFigures, storeCeiling } from './support/store-ceiling';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 32);
const QUERY_EVENTS = Number(process.env.BENCH_QUERY_EVENTS ?? 100_000);
const QUERY_WRITERS = Number(process.env.BENCH_QUERY_WRITERS || 8);
const QUERY_CLIENTS = Number(process.env.BENCH_QUERY_CLIENTS || 2);
const COMPARE_MAIN = process.env.BENCH_COMPARE_MAIN;
/** BENCH_SKIP_THROUGHPUT=1: part 2 only. */
const SKIP_THROUGHPUT = process.env.BENCH_SKIP_THROUGHPUT === '1';
const CEILING_EVENTS = Number(process.env.BENCH_CEILING_EVENTS ?? 200_000);
/** Events per commit in part 1b (BENCH_CEILING_COMMITS, comma-separated). */
const CEILING_COMMITS = (process.env.BENCH_CEILING_COMMITS || '32,100,3200')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);

function event(i: number) {
  return {
    item: { id: i, name: `item ${i}` },
    price: 9.99 + i,
    user: { id: `u${i % 50}`, country: 'FR' },
    tags: ['a', 'b'],
  };
}

interface Scenario {
  name: string;
  path: string;
  body: string;
  eventsPerRequest: number;
}

const scenarios: Scenario[] = [
  {
    name: 'single event POST',
    path: '/events/bench',
    body: JSON.stringify(event(1)),
    eventsPerRequest: 1,
  },
  {
    name: '100-event batch POST',
    path: '/events',
    body: JSON.stringify({ bench: Array.from({ length: 100 }, (_, i) => event(i)) }),
    eventsPerRequest: 100,
  },
];

interface Keys {
  write_key: string;
  read_key: string;
}

/**
 * The baselines every Tally build is divided by: servers that store nothing
 * (bare, nest), and the engine's floor (durable: support/bare-durable.ts, the
 * bare NestJS app storing through Tally's writer thread and columnar copy;
 * sqlite-only: the same without the columnar copy).
 */
const BASELINES = new Set(['bare', 'nest', 'durable', 'sqlite-only']);
/** BENCH_DURABLE=0 leaves the engine's floor out. */
const DURABLE = process.env.BENCH_DURABLE !== '0';

interface Server {
  name: string;
  running: Running;
  keys: Keys;
  dataDir?: string;
}

function summarize(results: LoadResult[], eventsPerRequest: number) {
  return {
    eventsPerSec: Math.round(median(results.map((r) => r.requestsPerSec)) * eventsPerRequest),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    failed: results.reduce((n, r) => n + r.non2xx + r.errors, 0),
  };
}

async function startTally(name: string, main: string): Promise<Server> {
  const dataDir = tempDir('tally-bench-');
  const running = await startNode(main, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }, 'listening on');
  const keys = JSON.parse(
    /Created project "default"[^\n]*\n(\{[\s\S]*?\n\})/.exec(running.output)![1],
  ) as Keys;
  return { name, running, keys, dataDir };
}

/** CPU time (user + system, ms) a process has used in all, or one of its threads. */
function cpuMs(pid: number, tid?: number): number {
  const stat = threadStat(pid, tid);
  if (stat === undefined) throw new Error(`process ${pid} is gone`);
  return stat.cpuTicks * 10;
}

/** The threads a Tally server names in `tally_thread_cpu_seconds` (besides main). */
const NAMED_THREADS = ['sqlite_writer', 'columnar'] as const;
type NamedThread = (typeof NAMED_THREADS)[number];

interface Scraped extends Record<NamedThread, number> {
  /** Inline group commits so far, and the events they carried. */
  commits: number;
  committedEvents: number;
}

/** CPU ms of a Tally server's named threads and its group commits, from its /metrics (0 for a baseline). */
async function scrapeServer(server: Server): Promise<Scraped> {
  const ms: Scraped = { sqlite_writer: 0, columnar: 0, commits: 0, committedEvents: 0 };
  if (BASELINES.has(server.name)) return ms;
  const res = await fetch(`http://127.0.0.1:${server.running.port}/metrics`);
  const text = await res.text();
  const value = (series: string) =>
    Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  ms.commits = value('tally_group_commit_events_count{queue="inline"}');
  ms.committedEvents = value('tally_group_commit_events_sum{queue="inline"}');
  for (const thread of NAMED_THREADS) {
    const m = new RegExp(`^tally_thread_cpu_seconds\\{thread="${thread}"\\} (\\S+)$`, 'm').exec(
      text,
    );
    if (m) ms[thread] = Number(m[1]) * 1000;
  }
  return ms;
}

interface Measured extends LoadResult {
  /**
   * CPU per event: the server's (all its threads; its main (HTTP) thread; the
   * SQLite writer thread; the columnar copy's thread) and the load
   * generator's (autocannon, in this process), which shares the machine.
   */
  cpuUsPerEvent: Record<'process' | 'main' | NamedThread | 'client', number>;
  /** Events per SQLite commit during the round (0 for a baseline). */
  eventsPerCommit: number;
}

async function post(
  server: Server,
  scenario: Scenario,
  connections: number,
  seconds: number,
): Promise<Measured> {
  const pid = server.running.child.pid!;
  const named = await scrapeServer(server);
  const before = { process: cpuMs(pid), main: cpuMs(pid, pid), client: process.cpuUsage() };
  const result = await loadOf(server, scenario, connections, seconds);
  const client = process.cpuUsage(before.client);
  const namedAfter = await scrapeServer(server);
  const events = Math.max(1, result.requests * scenario.eventsPerRequest);
  const perEvent = (ms: number) => (ms * 1000) / events;
  return {
    ...result,
    cpuUsPerEvent: {
      process: perEvent(cpuMs(pid) - before.process),
      main: perEvent(cpuMs(pid, pid) - before.main),
      sqlite_writer: perEvent(namedAfter.sqlite_writer - named.sqlite_writer),
      columnar: perEvent(namedAfter.columnar - named.columnar),
      client: (client.user + client.system) / events,
    },
    eventsPerCommit:
      (namedAfter.committedEvents - named.committedEvents) /
      Math.max(1, namedAfter.commits - named.commits),
  };
}

function loadOf(
  server: Server,
  scenario: Scenario,
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  return load({
    url: `http://127.0.0.1:${server.running.port}/3.0/projects/default${scenario.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: server.keys.write_key },
    body: scenario.body,
    connections,
    seconds,
  });
}

/** Part 1: throughput at CONNECTIONS connections, every server in each round. */
async function throughput(servers: Server[]): Promise<string> {
  const tallies = servers.filter((s) => !BASELINES.has(s.name));
  const overBare = servers.filter((s) => s.name !== 'bare');
  const header =
    '| scenario | ' +
    servers.map((s) => `${s.name} events/s | ${s.name} p50 ms | ${s.name} p99 ms`).join(' | ') +
    ' | ' +
    overBare.map((s) => `${s.name}/bare`).join(' | ') +
    ' | ' +
    tallies.map((s) => `${s.name}/nest`).join(' | ') +
    ' | ' +
    tallies.map((s) => `${s.name} failed requests`).join(' | ') +
    ' |';
  const rule = '|' + '---|'.repeat(header.split('|').length - 2);
  const lines = [header, rule];
  const cpu = [
    '| scenario | server | CPU µs per event, all threads | of which the HTTP thread | the SQLite writer thread | the columnar copy | the rest (V8, libuv) | load generator (autocannon) | events per commit |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of scenarios) {
    const results = new Map<string, Measured[]>(servers.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of servers)
        results.get(server.name)!.push(await post(server, s, CONNECTIONS, SECONDS));
    }
    const sums = new Map(
      servers.map((v) => [v.name, summarize(results.get(v.name)!, s.eventsPerRequest)]),
    );
    const bare = sums.get('bare')!;
    const nest = sums.get('nest')!;
    lines.push(
      `| ${s.name} | ` +
        servers
          .map((v) => sums.get(v.name)!)
          .map((t) => `${t.eventsPerSec.toLocaleString('en-US')} | ${t.p50} | ${t.p99}`)
          .join(' | ') +
        ' | ' +
        overBare
          .map((v) => (sums.get(v.name)!.eventsPerSec / bare.eventsPerSec).toFixed(2))
          .join(' | ') +
        ' | ' +
        tallies
          .map((v) => (sums.get(v.name)!.eventsPerSec / nest.eventsPerSec).toFixed(2))
          .join(' | ') +
        ' | ' +
        tallies.map((v) => sums.get(v.name)!.failed).join(' | ') +
        ' |',
    );
    for (const v of servers) {
      const runs = results.get(v.name)!;
      const m = (k: keyof Measured['cpuUsPerEvent']) => median(runs.map((r) => r.cpuUsPerEvent[k]));
      const rest = median(
        runs.map(
          (r) =>
            r.cpuUsPerEvent.process -
            r.cpuUsPerEvent.main -
            r.cpuUsPerEvent.sqlite_writer -
            r.cpuUsPerEvent.columnar,
        ),
      );
      const named = BASELINES.has(v.name)
        ? '– | –'
        : `${m('sqlite_writer').toFixed(1)} | ${m('columnar').toFixed(1)}`;
      const perCommit = BASELINES.has(v.name)
        ? '–'
        : median(runs.map((r) => r.eventsPerCommit)).toFixed(1);
      cpu.push(
        `| ${s.name} | ${v.name} | ${m('process').toFixed(1)} | ${m('main').toFixed(1)} | ${named} | ${rest.toFixed(1)} | ${m('client').toFixed(1)} | ${perCommit} |`,
      );
    }
  }
  return `${lines.join('\n')}\n\nCPU the server spent per event (medians; /proc, 10 ms ticks)\n\n${cpu.join('\n')}`;
}

/** Part 1b: the write path's parts without HTTP, medians of ROUNDS rounds. */
async function ceiling(): Promise<string> {
  const rounds: CeilingFigures[] = [];
  for (let round = 0; round < ROUNDS; round++)
    rounds.push(await storeCeiling(CEILING_EVENTS, CEILING_COMMITS, event));
  const row = (what: string, perSec: number[]) => {
    const m = median(perSec);
    return `| ${what} | ${Math.round(m).toLocaleString('en-US')} | ${(1e6 / m).toFixed(1)} |`;
  };
  const lines = [
    '| step (one thread, no HTTP) | events/s | µs per event |',
    '|---|---|---|',
    row(
      'prepare (validate, keen fields, keyed id)',
      rounds.map((r) => r.preparePerSec),
    ),
  ];
  for (const size of CEILING_COMMITS) {
    lines.push(
      row(
        `SQLite insert alone, ${size} per commit`,
        rounds.map((r) => r.insertPerSec.get(size)!),
      ),
      row(
        `write use case (insert + schema counters), ${size} per commit`,
        rounds.map((r) => r.persistPerSec.get(size)!),
      ),
    );
  }
  return lines.join('\n');
}

/** Loads `n` events into collection `big` with 100-event batches, 8 at a time. */
async function seed(server: Server, n: number): Promise<void> {
  const url = `http://127.0.0.1:${server.running.port}/3.0/projects/default/events`;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const from = next;
      next += 100;
      const events = Array.from({ length: Math.min(100, n - from) }, (_, i) => event(from + i));
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: server.keys.write_key },
        body: JSON.stringify({ big: events }),
      });
      if (res.status !== 200)
        throw new Error(`seeding answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/**
 * Waits until the columnar copy has taken in all `n` seeded events (a count
 * over `big` answered by the compiled path), so the idle phase is idle and the
 * loaded phase measures queries, not the copy filling in the background.
 */
async function caughtUp(server: Server, n: number): Promise<number> {
  const started = Date.now();
  const url =
    `http://127.0.0.1:${server.running.port}/3.0/projects/default/queries/count` +
    `?event_collection=big&timeframe=this_2_days`;
  for (;;) {
    const res = await fetch(url, { headers: { authorization: server.keys.read_key } });
    const body = (await res.json()) as { result?: number };
    if (res.headers.get('x-tally-query-path') === 'compiled' && body.result === n)
      return Date.now() - started;
    if (Date.now() - started > 900_000)
      throw new Error(`the columnar copy of ${server.name} did not catch up within 15 minutes`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Heavy queries over all of `big`, back to back, until `stop` is set. */
async function queryStorm(
  server: Server,
  clients: number,
  stop: { done: boolean },
): Promise<number> {
  const base = `http://127.0.0.1:${server.running.port}/3.0/projects/default/queries`;
  const queries = [
    `${base}/median?event_collection=big&target_property=price&timeframe=this_2_days`,
    `${base}/count_unique?event_collection=big&target_property=item.name&timeframe=this_2_days`,
  ];
  let answered = 0;
  const client = async (c: number) => {
    for (let i = c; !stop.done; i++) {
      const res = await fetch(queries[i % queries.length], {
        headers: { authorization: server.keys.read_key },
      });
      await res.arrayBuffer();
      if (res.status === 200) answered++;
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  return answered;
}

/** Part 2: single-event ingest latency idle vs while heavy queries run, alternating phases. */
async function underQueries(servers: Server[]): Promise<string> {
  const single = scenarios[0];
  const lines = [
    '| server | idle events/s | idle p50 ms | idle p99 ms | loaded events/s | loaded p50 ms | loaded p99 ms | loaded/idle p99 | queries answered | failed requests |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const server of servers.filter((s) => !BASELINES.has(s.name))) {
    await seed(server, QUERY_EVENTS);
    const fillMs = await caughtUp(server, QUERY_EVENTS);
    console.log(
      `${server.name}: columnar copy caught up ${(fillMs / 1000).toFixed(1)} s after seeding`,
    );
    const idle: LoadResult[] = [];
    const loaded: LoadResult[] = [];
    let answered = 0;
    for (let round = 0; round < ROUNDS; round++) {
      idle.push(await post(server, single, QUERY_WRITERS, SECONDS));
      const stop = { done: false };
      const storm = queryStorm(server, QUERY_CLIENTS, stop);
      // Let the queries get going before measuring.
      await new Promise((r) => setTimeout(r, 500));
      loaded.push(await post(server, single, QUERY_WRITERS, SECONDS));
      stop.done = true;
      answered += await storm;
    }
    const i = summarize(idle, 1);
    const l = summarize(loaded, 1);
    lines.push(
      `| ${server.name} | ${i.eventsPerSec.toLocaleString('en-US')} | ${i.p50} | ${i.p99} | ` +
        `${l.eventsPerSec.toLocaleString('en-US')} | ${l.p50} | ${l.p99} | ${(l.p99 / i.p99).toFixed(2)} | ${answered} | ${i.failed + l.failed} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const servers: Server[] = [
    await startTally('tally', path.join(ROOT, 'dist/apps/standalone/src/main.js')),
  ];
  if (COMPARE_MAIN) servers.push(await startTally('before', COMPARE_MAIN));
  const bare = await startNode(
    path.join(ROOT, 'dist/bench/support/bare-fastify.js'),
    {},
    'listening on',
  );
  servers.push({ name: 'bare', running: bare, keys: { write_key: '', read_key: '' } });
  const nest = await startNode(
    path.join(ROOT, 'dist/bench/support/bare-nest.js'),
    {},
    'listening on',
  );
  // Its guard wants an Authorization header; any value passes.
  servers.push({ name: 'nest', running: nest, keys: { write_key: 'x', read_key: '' } });
  if (DURABLE) {
    for (const [name, copy] of [
      ['durable', 'true'],
      ['sqlite-only', 'false'],
    ]) {
      const dataDir = tempDir('tally-bench-durable-');
      const running = await startNode(
        path.join(ROOT, 'dist/bench/support/bare-durable.js'),
        { DATA_DIR: dataDir, BARE_DURABLE_COPY: copy },
        'listening on',
      );
      servers.push({ name, running, keys: { write_key: 'x', read_key: '' }, dataDir });
    }
  }
  let out = '';
  try {
    if (!SKIP_THROUGHPUT) {
      out +=
        `standalone ingest vs bare Fastify and bare NestJS: ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} connections, medians\n\n` +
        (await throughput(servers)) +
        '\n';
    }
    if (CEILING_EVENTS > 0) {
      out +=
        `\nthe same events written by Tally's code in the bench process (no HTTP, no thread): ` +
        `${CEILING_EVENTS} events per round, ${ROUNDS} rounds, medians\n\n` +
        (await ceiling()) +
        '\n';
    }
    if (QUERY_EVENTS > 0) {
      out +=
        `\nsingle-event ingest, ${QUERY_WRITERS} connections, idle vs while ${QUERY_CLIENTS} clients run a median and a ` +
        `count_unique over ${QUERY_EVENTS} events back to back: ${ROUNDS} rounds x ${SECONDS}s, medians\n\n` +
        (await underQueries(servers)) +
        '\n';
    }
  } finally {
    for (const s of servers) {
      await s.running.stop();
      if (s.dataDir) fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  }
  process.stdout.write(out);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
