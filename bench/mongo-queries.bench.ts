/**
 * Queries on MongoDB at volume: MONGO_QUERY_EVENTS generated events (default
 * 1,000,000 over 30 days; the engine bake-off's collection) stored through
 * MongoEventStore into the project's MongoDB-wire test server, then queried
 * through QueryService (the code behind the HTTP endpoints, with the
 * compiled pipelines and the schema counters as the query pool runs them), each query next to a
 * hand-written aggregation pipeline for the same answer on the same server in
 * the same run, timed in alternation. Also times the TypeScript engine over
 * the event scan (the path every query took before) for two of them.
 * Run: `npm run bench -- mongo-queries` (figures in docs/benchmarks-split.md).
 *
 * The test server is not mongod: its absolute figures say nothing about
 * MongoDB, only the ratios do (the same server runs both sides).
 * Knobs: MONGO_QUERY_EVENTS, BENCH_RUNS (3), BENCH_SEED, BENCH_REFERENCE (1:
 * time the scan path too), BENCH_ONLY (run only the queries whose names start
 * with one of these comma-separated prefixes), MONGO_BACKEND (memory: every document on the JVM
 * heap, which is sized at 16 KiB per event, 16 GiB for 1M; h2, the stack's
 * durable file backend, reads documents about 20x slower at 200,000 events).
 * A compiled answer that differs from the hand-written one, or a query that
 * is not compiled, exits non-zero.
 */
import type { Document } from 'mongodb';
import { MongoClient } from 'mongodb';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createServer } from 'node:net';
import { loadConfig } from '@app/config';
import { QueryService, QueryPath } from '@app/core';
import { CollectionEvent } from '@app/events';
import { MongoCompiledQueries, MongoEventStore, MongoMetadataStore } from '@app/storage/mongo';
import { SchemaDelta, schemaDeltas } from '@app/schema';

import { mongoService } from '@tools/stack';
import { BAKEOFF_END, BAKEOFF_START, BAKEOFF_ZONE, bakeoffEvent } from './support/bakeoff-events';
import { fmt, interleavedMs, timed } from './support/timing';

const EVENTS = Number(process.env.MONGO_QUERY_EVENTS || 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SEED = Number(process.env.BENCH_SEED || 20240225);
const REFERENCE = (process.env.BENCH_REFERENCE ?? '1') !== '0';
const BACKEND = process.env.MONGO_BACKEND || 'memory';
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((p) => p !== '');
const PROJECT = 'bench';
const COLLECTION = 'c';
const CHUNK = 2_000;

const timeframe = {
  start: new Date(BAKEOFF_START).toISOString(),
  end: new Date(BAKEOFF_END).toISOString(),
};
const SCOPE: Document = {
  p: PROJECT,
  c: COLLECTION,
  t: { $gte: new Date(BAKEOFF_START), $lt: new Date(BAKEOFF_END) },
};

interface Case {
  name: string;
  analysis: string;
  params: Record<string, unknown>;
  /** What one would write by hand for the same answer. */
  native:
    | Document[]
    | ((aggregate: (pipeline: Document[]) => Promise<Document[]>) => Promise<Document[]>);
  /** Both answers reduced to one comparable JSON value. */
  reduce: (result: unknown) => unknown;
  nativeReduce: (docs: Document[]) => unknown;
}

const count = (docs: Document[]) => Number(docs[0]?.n ?? 0);
const sortedPairs = (pairs: [string, number][]) => pairs.sort(([a], [b]) => (a < b ? -1 : 1));
const groupsOf = (key: string) => (result: unknown) =>
  sortedPairs((result as Record<string, unknown>[]).map((g) => [String(g[key]), Number(g.result)]));

/**
 * Local midnights of the 30 days in New York, written out as a user would
 * hand them to $bucket: EST (UTC-5) through 2024-03-10, EDT (UTC-4) after.
 */
function localDays(): Date[] {
  const days: Date[] = [];
  for (let d = 0; d <= 30; d++) {
    const day = Date.UTC(2024, 1, 25 + d);
    days.push(new Date(day + (day <= Date.UTC(2024, 2, 10) ? 5 : 4) * 3_600_000));
  }
  return days;
}

function cases(): Case[] {
  return [
    {
      name: 'count',
      analysis: 'count',
      params: {},
      native: [{ $match: SCOPE }, { $count: 'n' }],
      reduce: Number,
      nativeReduce: count,
    },
    {
      name: 'count, eq filter',
      analysis: 'count',
      params: {
        filters: [{ property_name: 'user.country', operator: 'eq', property_value: 'US' }],
      },
      native: [{ $match: { ...SCOPE, 'e.user.country': 'US' } }, { $count: 'n' }],
      reduce: Number,
      nativeReduce: count,
    },
    {
      name: 'count, or of two filters',
      analysis: 'count',
      params: {
        filters: [
          {
            operator: 'or',
            operands: [
              { property_name: 'type', operator: 'eq', property_value: 'purchase' },
              { property_name: 'price', operator: 'gt', property_value: 900 },
            ],
          },
        ],
      },
      native: [
        { $match: { ...SCOPE, $or: [{ 'e.type': 'purchase' }, { 'e.price': { $gt: 900 } }] } },
        { $count: 'n' },
      ],
      reduce: Number,
      nativeReduce: count,
    },
    {
      name: 'sum, group_by (12 groups)',
      analysis: 'sum',
      params: { target_property: 'price', group_by: 'user.country' },
      native: [{ $match: SCOPE }, { $group: { _id: '$e.user.country', s: { $sum: '$e.price' } } }],
      reduce: groupsOf('user.country'),
      nativeReduce: (docs) => sortedPairs(docs.map((d) => [String(d._id), Number(d.s)])),
    },
    {
      name: 'average, minimum, maximum (multi_analysis)',
      analysis: 'multi_analysis',
      params: {
        analyses: {
          avg: { analysis_type: 'average', target_property: 'price' },
          min: { analysis_type: 'minimum', target_property: 'price' },
          max: { analysis_type: 'maximum', target_property: 'price' },
        },
      },
      native: [
        { $match: SCOPE },
        {
          $group: {
            _id: null,
            avg: { $avg: '$e.price' },
            min: { $min: '$e.price' },
            max: { $max: '$e.price' },
          },
        },
      ],
      reduce: (r) => {
        const x = r as Record<string, number>;
        return [x.avg, x.min, x.max];
      },
      nativeReduce: (docs) => [docs[0].avg, docs[0].min, docs[0].max],
    },
    {
      name: 'count_unique user.id',
      analysis: 'count_unique',
      params: { target_property: 'user.id' },
      native: [
        { $match: { ...SCOPE, 'e.user.id': { $ne: null } } },
        { $group: { _id: '$e.user.id' } },
        { $count: 'n' },
      ],
      reduce: Number,
      nativeReduce: count,
    },
    {
      name: 'select_unique device.os',
      analysis: 'select_unique',
      params: { target_property: 'device.os' },
      native: [{ $match: SCOPE }, { $group: { _id: null, v: { $addToSet: '$e.device.os' } } }],
      reduce: (r) => [...(r as string[])].sort(),
      nativeReduce: (docs) => [...(docs[0].v as string[])].sort(),
    },
    {
      name: 'percentile 90 of price',
      analysis: 'percentile',
      params: { target_property: 'price', percentile: 90 },
      // Exact, as a careful user writes it: count the numbers, then sort and skip to the rank.
      native: async (aggregate) => {
        const numbers = { $match: { ...SCOPE, 'e.price': { $type: 'number' } } };
        const [{ n }] = await aggregate([numbers, { $count: 'n' }]);
        const rank = 0.9 * (n - 1);
        const lo = Math.floor(rank);
        const picked = await aggregate([
          numbers,
          { $sort: { 'e.price': 1 } },
          { $skip: lo },
          { $limit: 2 },
          { $project: { _id: 0, x: '$e.price' } },
        ]);
        const x = picked.map((d) => Number(d.x));
        return [{ v: x[0] + ((x[1] ?? x[0]) - x[0]) * (rank - lo) }];
      },
      reduce: Number,
      nativeReduce: (docs) => Number(docs[0].v),
    },
    {
      name: 'standard_deviation of price',
      analysis: 'standard_deviation',
      params: { target_property: 'price' },
      // One pass, as most users write it: the sums of x and x².
      native: [
        { $match: { ...SCOPE, 'e.price': { $type: 'number' } } },
        {
          $group: {
            _id: null,
            n: { $sum: 1 },
            s: { $sum: '$e.price' },
            ss: { $sum: { $multiply: ['$e.price', '$e.price'] } },
          },
        },
      ],
      reduce: (r) => Number(r).toFixed(6),
      nativeReduce: ([d]) => Math.sqrt(d.ss / d.n - (d.s / d.n) ** 2).toFixed(6),
    },
    {
      name: 'standard_deviation of price, next to two passes',
      analysis: 'standard_deviation',
      params: { target_property: 'price' },
      // As exact as the engine, as a careful user writes it: the mean first, then
      // the squared distances to it (one pass over Σx and Σx² loses every digit
      // when the spread is small next to the mean).
      native: async (aggregate) => {
        const numbers = { $match: { ...SCOPE, 'e.price': { $type: 'number' } } };
        const [{ n, s }] = await aggregate([
          numbers,
          { $group: { _id: null, n: { $sum: 1 }, s: { $sum: '$e.price' } } },
        ]);
        const mean = Number(s) / Number(n);
        const [{ d }] = await aggregate([
          numbers,
          {
            $group: {
              _id: null,
              d: { $sum: { $pow: [{ $subtract: ['$e.price', mean] }, 2] } },
            },
          },
        ]);
        return [{ v: Math.sqrt(Number(d) / Number(n)) }];
      },
      reduce: (r) => Number(r).toFixed(6),
      nativeReduce: ([d]) => Number(d.v).toFixed(6),
    },
    {
      name: `daily count in ${BAKEOFF_ZONE}`,
      analysis: 'count',
      params: { interval: 'daily', timezone: BAKEOFF_ZONE },
      native: [
        { $match: SCOPE },
        { $bucket: { groupBy: '$t', boundaries: localDays(), output: { n: { $sum: 1 } } } },
      ],
      reduce: (r) => (r as { value: number }[]).filter((d) => d.value > 0).map((d) => d.value),
      nativeReduce: (docs) =>
        docs
          .sort((a, b) => (a._id as Date).getTime() - (b._id as Date).getTime())
          .map((d) => Number(d.n)),
    },
  ];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-mongo-queries-'));
  const port = await freePort();
  // The memory backend keeps every document on the JVM heap (over 10 KiB per
  // bake-off event there); the H2 backend keeps them in its file.
  const heapMb =
    BACKEND === 'memory' ? Math.max(1024, Math.ceil((EVENTS * 16) / 1024) + 512) : 2048;
  const server = await mongoService.start({
    name: 'mongo',
    port,
    stateDir,
    backend: BACKEND as 'h2' | 'memory',
    heapMb,
  });
  const url = mongoService.mongoUrl(port);
  // A busy test server (a scan, a collection on the heap) can hold a heartbeat
  // for seconds: the driver would drop the pool (see docs/benchmarks-split.md).
  const timeouts = {
    connectTimeoutMs: 60_000,
    serverSelectionTimeoutMs: 60_000,
    socketTimeoutMs: 600_000,
  };
  const store = new MongoEventStore({ url, database: 'bench', ...timeouts });
  const metadata = new MongoMetadataStore({ url, database: 'bench', ...timeouts });
  const raw = new MongoClient(url, {
    connectTimeoutMS: 60_000,
    serverSelectionTimeoutMS: 60_000,
    socketTimeoutMS: 600_000,
  });
  const failures: string[] = [];
  const say = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await Promise.all([store.init(), metadata.init()]);
    say(
      `mongo-queries bench: ${fmt(EVENTS)} events over 30 days, MongoDB-wire test server (${BACKEND} backend), ` +
        `${RUNS} runs per query (median, alternating), ${os.cpus().length} cores`,
    );
    // The counters the worker's persister applies with each delivery, applied once at the end.
    const deltas = new Map<string, SchemaDelta>();
    const loadMs = await timed(async () => {
      for (let from = 0; from < EVENTS; from += CHUNK) {
        const chunk: CollectionEvent[] = [];
        for (let i = from; i < Math.min(EVENTS, from + CHUNK); i++) {
          const e = bakeoffEvent(SEED, i, EVENTS);
          chunk.push({ collection: COLLECTION, id: e.id, timestamp: e.ts, event: e.body as never });
        }
        await store.insert(PROJECT, chunk);
        for (const d of schemaDeltas(chunk)) {
          const key = `${d.path}\u0000${d.type}`;
          const found = deltas.get(key);
          if (found) found.delta += d.delta;
          else deltas.set(key, d);
        }
        if ((from / CHUNK) % 50 === 0)
          process.stdout.write(
            `  loaded ${fmt(from)} at ${Math.round(performance.now() / 1000)} s\n`,
          );
      }
      await metadata.applySchemaDeltas(PROJECT, [...deltas.values()]);
    });
    say(
      `load (MongoEventStore.insert, ${fmt(CHUNK)} per insertMany): ${(loadMs / 1000).toFixed(1)} s, ${fmt(Math.round(EVENTS / (loadMs / 1000)))} events/s`,
    );

    const config = loadConfig('standalone', { QUERY_DEADLINE_MS: '600000' });
    const compiled = new MongoCompiledQueries(store, metadata);
    const service = new QueryService(store, config, compiled);
    const collection = raw.db('bench').collection('events');
    const native = (pipeline: Document[]) =>
      collection.aggregate(pipeline, { allowDiskUse: true }).toArray();

    say('');
    say(
      '| query | Tally (QueryService) ms | hand-written pipeline ms | ratio pipeline/Tally | path |',
    );
    say('|---|---:|---:|---:|---|');
    const ratios: number[] = [];
    for (const c of cases().filter(
      (x) => ONLY.length === 0 || ONLY.some((p) => x.name.startsWith(p)),
    )) {
      const params = { event_collection: COLLECTION, timeframe, ...c.params };
      let path = 'reference' as QueryPath;
      let answer: unknown;
      let nativeDocs: Document[] = [];
      const [tallyMs, nativeMs] = await interleavedMs(
        async () => {
          answer = (await service.run(PROJECT, c.analysis, params, undefined, (p) => (path = p)))
            .result;
        },
        async () => {
          nativeDocs =
            typeof c.native === 'function' ? await c.native(native) : await native(c.native);
        },
        RUNS,
      );
      const ratio = nativeMs / tallyMs;
      ratios.push(ratio);
      say(
        `| ${c.name} | ${tallyMs.toFixed(0)} | ${nativeMs.toFixed(0)} | ${ratio.toFixed(2)} | ${path} |`,
      );
      if (path !== 'compiled') failures.push(`${c.name}: answered by the ${path} path`);
      const mine = JSON.stringify(c.reduce(answer));
      const theirs = JSON.stringify(c.nativeReduce(nativeDocs));
      if (mine !== theirs)
        failures.push(`${c.name}: Tally ${mine.slice(0, 200)} ≠ pipeline ${theirs.slice(0, 200)}`);
    }
    say('');
    say(`lowest ratio ${Math.min(...ratios).toFixed(2)} (target ≥ 0.5)`);

    if (REFERENCE) {
      const scanOnly = new QueryService(store, config);
      say('');
      say('The TypeScript engine over the event scan (QUERY_MONGO_PIPELINES=false), one run each:');
      for (const c of cases().filter((x) =>
        ['count', 'sum, group_by (12 groups)'].includes(x.name),
      )) {
        const params = { event_collection: COLLECTION, timeframe, ...c.params };
        const ms = await timed(() => scanOnly.run(PROJECT, c.analysis, params));
        say(
          `  ${c.name}: ${fmt(Math.round(ms))} ms (${fmt(Math.round(EVENTS / (ms / 1000)))} events/s)`,
        );
      }
    }
  } catch (e) {
    // The test server's own account of a failure (its log goes with the state dir).
    const log = path.join(stateDir, 'logs', 'mongo.log');
    if (fs.existsSync(log)) process.stderr.write(`${fs.readFileSync(log, 'utf8').slice(-3000)}\n`);
    throw e;
  } finally {
    await raw.close();
    await store.close();
    await metadata.close();
    await server.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    process.stderr.write(`FAILED:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
