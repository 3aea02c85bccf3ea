/**
 * Write-path isolation on the split stack: ingest latency through nginx with
 * the query pool idle (A) and with it running a large filtered delete and
 * heavy queries over another collection of the same project (B), in
 * interleaved rounds A B A B … so machine noise hits both kinds.
 * Run: `npm run bench -- isolation` (figures in docs/benchmarks-split.md).
 *
 * The big collection is written before the rounds through the worker's own
 * write use case (the marker persister: events and schema counters),
 * because the worker's end-to-end rate would take many minutes for it. Each B
 * round deletes a different slice of it (one timeframe slice, `price < 125`:
 * half of the slice), so every delete has work to do. Between rounds the
 * bench waits until the worker has stored every acknowledged event, so each
 * round starts from an idle queue.
 *
 * Knobs: BENCH_ROUNDS (3), BENCH_SECONDS (20), BENCH_CLIENTS (16),
 * BENCH_BATCH (10), BENCH_PAUSE_MS (20), BENCH_BIG_EVENTS (200000),
 * BENCH_QUERY_CLIENTS (4), BENCH_DRAIN_MS (90000), BENCH_MONGO_BACKEND (memory),
 * BENCH_CPUS (split | shared), BENCH_MONGO_CONNECT_TIMEOUT_MS (30000, the apps'
 * MONGO_CONNECT_TIMEOUT_MS). The stack's query pool and worker run at
 * TALLY_STACK_QUERY_NICE (default 10; 0 to compare).
 *
 * BENCH_CPUS=split (the default) gives the write side (nginx, ingest, Redis,
 * and this process, which generates the load) half of the host's CPUs and the
 * read side (query pool, worker, event store) the other half, as separate
 * machines would (bench/support/cpu-partition.ts). `shared` lets every process
 * run anywhere: then ingest also competes with the store server's scans for
 * the same two cores.
 */
import * as fs from 'node:fs';
import { CollectionEvent } from '@app/events';
import { EventPersister, EventStore } from '@app/storage';
import { MongoConnection, MongoEventStore, MongoMetadataStore } from '@app/storage/mongo';
import { mongoEventPersister } from '@app/storage/mongo/testing';
import { ProjectKeys, sleep, SplitStack } from '@test/support/split-stack';
import { benchEvents, DAY_MS, T0 } from './support/bench-events';
import { ingestLoad, IngestLoadResult, IngestLoadSpec } from './support/ingest-load';
import { applyPartition, halves } from './support/cpu-partition';
import { median } from './support/load';
import {
  DeleteResult,
  HeavyQuery,
  QueryLoad,
  QueryLoadResult,
  runDelete,
} from './support/query-load';
import { fmt, lanes, retried } from './support/timing';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const SECONDS = Number(process.env.BENCH_SECONDS || 20);
const CLIENTS = Number(process.env.BENCH_CLIENTS || 16);
const BATCH = Number(process.env.BENCH_BATCH || 10);
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS || 20);
const BIG_EVENTS = Number(process.env.BENCH_BIG_EVENTS || 200_000);
const QUERY_CLIENTS = Number(process.env.BENCH_QUERY_CLIENTS || 4);
const DRAIN_MS = Number(process.env.BENCH_DRAIN_MS || 90_000);
const CPUS = process.env.BENCH_CPUS || 'split';
const TARGET = 1.25;
const DAYS = 10;
const BIG = 'big';
const LIVE = 'live';
const WHOLE = {
  start: new Date(T0).toISOString(),
  end: new Date(T0 + DAYS * DAY_MS).toISOString(),
};

const HEAVY_QUERIES: HeavyQuery[] = [
  { analysis: 'count', body: { event_collection: BIG, timeframe: WHOLE, group_by: 'user.id' } },
  {
    analysis: 'percentile',
    body: {
      event_collection: BIG,
      timeframe: WHOLE,
      target_property: 'price',
      percentile: 90,
      group_by: 'country',
    },
  },
  {
    analysis: 'extraction',
    body: {
      event_collection: BIG,
      timeframe: WHOLE,
      filters: [{ property_name: 'country', operator: 'eq', property_value: 'FR' }],
      property_names: ['price', 'country', 'user.id'],
    },
  },
];

interface Round {
  kind: 'A' | 'B';
  ingest: IngestLoadResult;
  queries?: QueryLoadResult;
  delete?: DeleteResult;
  /** Events of the big collection the store lost during the round (its own count). */
  removed?: number;
}

/** The bench's own access to the stack's store: what the worker writes with, and counts. */
interface BenchStores {
  events: EventStore;
  persister: EventPersister;
  close(): Promise<void>;
}

/**
 * The worker's store classes on the stack's MongoDB, with longer connection
 * timeouts than the deployment's (1 s connect, which is also the driver's
 * heartbeat timeout): loading the big collection keeps the wire server busy
 * enough on 2 cores that the strict ones cleared the pool mid-load.
 */
function openBenchStores(stack: SplitStack): BenchStores {
  const connection = new MongoConnection({
    url: stack.env.MONGO_URL,
    database: stack.env.MONGO_DATABASE,
    connectTimeoutMs: 10_000,
    serverSelectionTimeoutMs: 30_000,
    socketTimeoutMs: 120_000,
  });
  const events = new MongoEventStore({ connection });
  const persister = mongoEventPersister({
    events,
    metadata: new MongoMetadataStore({ connection }),
  });
  return { events, persister, close: () => connection.close() };
}

/** The big collection, through the worker's write use case (1000 events per call, 2 at a time). */
async function preload(stores: BenchStores, projectId: string): Promise<void> {
  const events = benchEvents(BIG_EVENTS, DAYS * DAY_MS, 'big-').map((e) => ({
    ...e,
    collection: BIG,
  }));
  const chunks: CollectionEvent[][] = [];
  for (let i = 0; i < events.length; i += 1000) chunks.push(events.slice(i, i + 1000));
  // Retried as the worker retries a job: the persister is idempotent by keen.id.
  await lanes(chunks, 4, (chunk) =>
    retried('preload', () => stores.persister.persist(projectId, chunk)),
  );
}

/**
 * A collection's stored count, or NaN when the store stays unreachable: a
 * bookkeeping read must not end the run while the disturbance has the store
 * server saturated (the round's ingest figures do not depend on it).
 */
const countOf = (stores: BenchStores, projectId: string, collection: string) =>
  retried('count', () => stores.events.countCollection(projectId, collection), 10).catch(() => NaN);

/** Round `r`'s delete: its own timeframe slice of the big collection, price < 125 (half of it). */
function deleteSelection(r: number): Record<string, unknown> {
  const slice = (DAYS * DAY_MS) / ROUNDS;
  return {
    timeframe: {
      start: new Date(T0 + r * slice).toISOString(),
      end: new Date(T0 + (r + 1) * slice).toISOString(),
    },
    filters: [{ property_name: 'price', operator: 'lt', property_value: 125 }],
  };
}

/** Until the worker has stored every acknowledged event of the live collection (or the cap passes). */
async function drain(stores: BenchStores, projectId: string, acked: number): Promise<number> {
  const until = Date.now() + DRAIN_MS;
  for (;;) {
    const stored = await countOf(stores, projectId, LIVE);
    if (stored >= acked || Date.now() > until) return stored;
    await sleep(500);
  }
}

/** nice level of each running app process, from /proc (proof of the priority the pools ran at). */
async function niceLevels(stack: SplitStack): Promise<string> {
  const out: string[] = [];
  for (const s of await stack.status()) {
    if (!s.pid || !/^(ingest|query|worker)-/.test(s.name)) continue;
    const stat = fs.readFileSync(`/proc/${s.pid}/stat`, 'utf8');
    out.push(`${s.name}=${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]}`);
  }
  return out.join(' ');
}

/** Applies BENCH_CPUS; returns what each process may run on. */
function cpuLayout(services: Awaited<ReturnType<SplitStack['status']>>): string {
  if (CPUS === 'shared') return 'shared (every process on every CPU)';
  if (CPUS !== 'split') throw new Error(`BENCH_CPUS must be split or shared, got "${CPUS}"`);
  const partition = halves();
  if (!partition) return 'shared (one CPU: nothing to split)';
  return `split (write side ${partition.write}, read side ${partition.read}): ${applyPartition(services, partition)}`;
}

async function round(
  stack: SplitStack,
  stores: BenchStores,
  keys: ProjectKeys,
  kind: 'A' | 'B',
  n: number,
): Promise<Round> {
  const spec: IngestLoadSpec = {
    collection: LIVE,
    runId: `${kind}${n}`,
    seconds: SECONDS,
    clients: CLIENTS,
    batchSize: BATCH,
    pauseMs: PAUSE_MS,
  };
  if (kind === 'A') return { kind, ingest: await ingestLoad(stack, keys, spec) };
  const before = await countOf(stores, keys.id, BIG);
  const queries = new QueryLoad(
    (a) => stack.url(keys.id, `/queries/${a}`),
    keys.read_key,
    HEAVY_QUERIES,
  );
  queries.start(QUERY_CLIENTS);
  const deleting = runDelete(
    stack.baseUrl,
    stack.url(keys.id, `/events/${BIG}`),
    keys.master_key,
    deleteSelection(n),
  );
  // The disturbance is under way before the measured window opens.
  await sleep(1000);
  const ingest = await ingestLoad(stack, keys, spec);
  const [queryResult, deleteResult] = await Promise.all([queries.stop(), deleting]);
  const removed = before - (await countOf(stores, keys.id, BIG));
  return { kind, ingest, queries: queryResult, delete: deleteResult, removed };
}

function roundLine(r: Round, n: number): string {
  const d = r.delete;
  const disturbance =
    r.kind === 'A'
      ? '— | — | —'
      : `${d!.status}${d!.error ? ` (${d!.error})` : ''}, ${fmt(d!.deleted)} deleted of ${fmt(d!.scanned)} scanned, store count -${fmt(r.removed!)} | ${(d!.ms / 1000).toFixed(1)} | ${r.queries!.completed} ok / ${r.queries!.failed} failed ${JSON.stringify(r.queries!.byAnalysis)}`;
  return `| ${r.kind}${n + 1} | ${r.ingest.requests} | ${fmt(r.ingest.acked)} | ${r.ingest.p50.toFixed(1)} | ${r.ingest.p99.toFixed(1)} | ${r.ingest.max.toFixed(0)} | ${r.ingest.failed} | ${disturbance} |`;
}

async function main(): Promise<void> {
  // The Mongo-wire server's memory backend: the durable H2 backend needs minutes
  // for the big collection on 2 cores. The store is not on the acknowledgement
  // path (ingest answers once Redis has the job), so this changes the
  // disturbance's cost for the store, not what ingest has to wait for.
  const stack = await SplitStack.start({
    logLevel: 'warn',
    mongoBackend: (process.env.BENCH_MONGO_BACKEND as 'h2' | 'memory') || 'memory',
    // The Mongo-wire test server runs each connection's commands on a few
    // shared threads, so a scan of the big collection can hold another
    // connection's heartbeat for seconds; at the default 5 s the driver then
    // drops the pool and fails the delete and the queries in flight. A real
    // mongod answers heartbeats on their own thread.
    env: { MONGO_CONNECT_TIMEOUT_MS: process.env.BENCH_MONGO_CONNECT_TIMEOUT_MS || '30000' },
  });
  let stores: BenchStores | undefined;
  const lines: string[] = [];
  let failedWrites = 0;
  try {
    const keys = await stack.createProject('isolation');
    stores = openBenchStores(stack);
    const t0 = Date.now();
    await preload(stores, keys.id);
    const big = await countOf(stores, keys.id, BIG);
    process.stderr.write(
      `preloaded ${fmt(big)} events into ${BIG} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    process.stderr.write(`priorities (nice): ${await niceLevels(stack)}\n`);
    const cpus = cpuLayout(await stack.status());
    process.stderr.write(`CPUs: ${cpus}\n`);
    // Warm-up (not recorded): JIT, connection pools, nginx keep-alive.
    let acked = (
      await ingestLoad(stack, keys, {
        collection: LIVE,
        runId: 'warm',
        seconds: 5,
        clients: CLIENTS,
        batchSize: BATCH,
        pauseMs: PAUSE_MS,
      })
    ).acked;
    await drain(stores, keys.id, acked);
    const rounds: Round[] = [];
    for (let n = 0; n < ROUNDS; n++) {
      for (const kind of ['A', 'B'] as const) {
        const r = await round(stack, stores, keys, kind, n);
        rounds.push(r);
        lines.push(roundLine(r, n));
        process.stderr.write(`${lines[lines.length - 1]}\n`);
        if (r.ingest.failed)
          process.stderr.write(`failed writes: ${JSON.stringify(r.ingest.failures)}\n`);
        if (r.queries?.failed)
          process.stderr.write(`failed queries: ${JSON.stringify(r.queries.failures)}\n`);
        acked += r.ingest.acked;
        const stored = await drain(stores, keys.id, acked);
        if (stored < acked)
          process.stderr.write(
            `worker behind: ${stored} of ${acked} acknowledged events stored after ${DRAIN_MS} ms\n`,
          );
      }
    }
    const of = (kind: 'A' | 'B') => rounds.filter((r) => r.kind === kind);
    const med = (kind: 'A' | 'B', f: (r: Round) => number) => median(of(kind).map(f));
    const [p50A, p50B] = [med('A', (r) => r.ingest.p50), med('B', (r) => r.ingest.p50)];
    const [p99A, p99B] = [med('A', (r) => r.ingest.p99), med('B', (r) => r.ingest.p99)];
    failedWrites = rounds.reduce((n, r) => n + r.ingest.failed, 0);
    const deleted = of('B').reduce((n, r) => n + r.delete!.deleted, 0);
    const removed = of('B').reduce((n, r) => n + r.removed!, 0);
    const queries = of('B').reduce((n, r) => n + r.queries!.completed, 0);
    const nice = await niceLevels(stack);
    process.stdout.write(
      [
        `isolation: ${ROUNDS} × (A, B) interleaved, ${SECONDS} s of ingest each, ${CLIENTS} clients through nginx (half single events, half batches of ${BATCH}, ${PAUSE_MS} ms pause); ` +
          `B adds a filtered delete and ${QUERY_CLIENTS} heavy query clients on a ${fmt(big)}-event collection of the same project. nice: ${nice}. CPUs: ${cpus}`,
        '',
        '| round | requests | events acked | p50 ms | p99 ms | max ms | failed writes | delete (status, counts) | delete s | heavy queries |',
        '|---|---|---|---|---|---|---|---|---|---|',
        ...lines,
        '',
        '| | A: ingest only | B: + delete + queries | B / A |',
        '|---|---|---|---|',
        `| median ingest p50 ms | ${p50A.toFixed(1)} | ${p50B.toFixed(1)} | ${(p50B / p50A).toFixed(2)} |`,
        `| median ingest p99 ms | ${p99A.toFixed(1)} | ${p99B.toFixed(1)} | ${(p99B / p99A).toFixed(2)} |`,
        `| failed writes | ${of('A').reduce((n, r) => n + r.ingest.failed, 0)} | ${of('B').reduce((n, r) => n + r.ingest.failed, 0)} | |`,
        `| disturbance | — | ${fmt(deleted)} events deleted (store count: -${fmt(removed)}), ${queries} heavy queries completed | |`,
        '',
        `target p99(B) <= ${TARGET} × p99(A): ${p99B <= TARGET * p99A ? 'met' : 'NOT met'} (${(p99B / p99A).toFixed(2)})`,
        '',
      ].join('\n'),
    );
  } finally {
    await stores?.close();
    await stack.stop();
  }
  if (failedWrites > 0) {
    process.stderr.write(
      `\n*** ${failedWrites} write requests failed: the write path must not fail under query load ***\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
