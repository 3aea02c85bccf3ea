/**
 * Scan rates of every EventStore driver through Tally's query path, each next
 * to the store's native best for the same answer.
 * Run: `npm run bench -- store-scan` (figures in docs/benchmarks.md).
 *
 * SQLite and Cassandra are opened the way the query process opens them
 * (openStores over a validated config); MongoEventStore is built directly with
 * longer connection timeouts (see openMongo). Each is loaded with the same
 * generated collection through the store's own insert. Tally's answer
 * comes from QueryService.run, the code behind the HTTP query endpoints (the
 * engine over the store's scan, with the deployment's default limits). The
 * native side is the store's own best: SQL over json_extract, countDocuments
 * and $group, CQL count(*) per partition or a paged read with a client fold.
 * Every Tally answer must equal the native one: a mismatch is printed and the
 * process exits non-zero.
 *
 * Knobs: BENCH_EVENTS (200000), BENCH_RUNS (5), BENCH_STORES (sqlite,mongo,cassandra),
 * CASSANDRA_CONTACT_POINTS to reuse a running Cassandra (else one is started).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { loadConfig } from '@app/config';
import { CollectionEvent } from '@app/events';
import { EventStore, openStores } from '@app/storage';
import { MongoEventStore } from '@app/storage/mongo';
import { QueryService } from '@app/core';
import {
  startTestCassandra,
  testKeyspace,
} from '@app/storage/cassandra/testing';
import { startTestMongo, TestMongo } from '@app/storage/mongo/testing';
import { benchEvents, DAY_MS, T0 } from './support/bench-events';
import { countPerPartition, foldBodies, rawCassandraClient } from './support/cassandra-native';
import { tempDir } from './support/processes';
import {
  addTo,
  Answer,
  NativeAnswers,
  SCAN_QUERIES,
  sameAnswer,
  tallyAnswer,
} from './support/scan-answers';
import { fmt, interleavedMs, lanes, rate } from './support/timing';

const EVENTS = Number(process.env.BENCH_EVENTS || 200_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const STORES = (process.env.BENCH_STORES || 'sqlite,mongo,cassandra')
  .split(',')
  .map((s) => s.trim());
const DAYS = 10;
const PROJECT = 'bench';
const START = T0;
const END = T0 + DAYS * DAY_MS;
const TIMEFRAME = { start: new Date(START).toISOString(), end: new Date(END).toISOString() };
// openStores refuses a split store without one; its value does not matter here.
const ID_SECRET = 'store-scan-bench-secret-0000000000001';

interface OpenedStore {
  name: string;
  events: EventStore;
  native: NativeAnswers;
  close(): Promise<void>;
}

/** Through the store's own insert, 1000 events per call, as the worker writes. */
async function load(store: EventStore, events: CollectionEvent[]): Promise<void> {
  const chunks: CollectionEvent[][] = [];
  for (let i = 0; i < events.length; i += 1000) chunks.push(events.slice(i, i + 1000));
  await lanes(chunks, 4, (chunk) => store.insert(PROJECT, chunk));
}

async function openSqlite(): Promise<OpenedStore> {
  const dir = tempDir('tally-bench-scan-');
  const stores = await openStores(loadConfig('query', { STORE: 'sqlite', DATA_DIR: dir }));
  const db = new Database(path.join(dir, 'tally.db'), { readonly: true });
  const where = 'WHERE project = ? AND collection = ? AND ts >= ? AND ts < ?';
  const args = [PROJECT, 'c', START, END];
  const total = (sql: string) => async () => (db.prepare(sql).get(...args) as { n: number }).n;
  const grouped = (sql: string) => async () => {
    const groups = new Map<string, number>();
    for (const row of db.prepare(sql).all(...args) as Array<{ k: string; n: number }>)
      groups.set(row.k, row.n);
    return groups;
  };
  const country = "json_extract(body, '$.country')";
  return {
    name: 'SQLite',
    events: stores.events,
    native: {
      count: {
        best: 'count(*) on the (project, collection, ts) index',
        run: total(`SELECT count(*) AS n FROM events ${where}`),
      },
      filtered: {
        best: `count(*) WHERE ${country} = 'FR'`,
        run: total(`SELECT count(*) AS n FROM events ${where} AND ${country} = 'FR'`),
      },
      group: {
        best: `count(*) GROUP BY ${country}`,
        run: grouped(`SELECT ${country} AS k, count(*) AS n FROM events ${where} GROUP BY k`),
      },
      sum: {
        best: `sum(json_extract(body, '$.price')) GROUP BY ${country}`,
        run: grouped(
          `SELECT ${country} AS k, sum(json_extract(body, '$.price')) AS n FROM events ${where} GROUP BY k`,
        ),
      },
    },
    close: async () => {
      db.close();
      await stores.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openMongo(mongo: TestMongo): Promise<OpenedStore> {
  // MongoEventStore as the query process builds it, except for the connection's
  // timeouts: the deployment's 1 s connect timeout is also the driver's
  // heartbeat timeout, and on a loaded 2-core machine the wire server's
  // heartbeat answer took longer mid-scan (pool cleared, scan failed).
  const store = new MongoEventStore({
    url: mongo.url,
    database: 'bench_scan',
    connectTimeoutMs: 10_000,
    serverSelectionTimeoutMs: 10_000,
    socketTimeoutMs: 120_000,
  });
  await store.init();
  const client = new MongoClient(mongo.url, { directConnection: true });
  const events = client.db('bench_scan').collection('events');
  const match = { p: PROJECT, c: 'c', t: { $gte: new Date(START), $lt: new Date(END) } };
  const group = (value: unknown) => async () => {
    const groups = new Map<string, number>();
    const rows = await events
      .aggregate([{ $match: match }, { $group: { _id: '$e.country', n: { $sum: value } } }])
      .toArray();
    for (const row of rows) groups.set(String(row._id), row.n as number);
    return groups;
  };
  return {
    name: 'MongoDB (wire server)',
    events: store,
    native: {
      count: {
        best: 'countDocuments on the (p, c, t) index',
        run: () => events.countDocuments(match),
      },
      filtered: {
        best: "countDocuments with e.country: 'FR'",
        run: () => events.countDocuments({ ...match, 'e.country': 'FR' }),
      },
      group: { best: "aggregate $match + $group { $sum: 1 } by '$e.country'", run: group(1) },
      sum: { best: "aggregate $match + $group { $sum: '$e.price' }", run: group('$e.price') },
    },
    close: async () => {
      await client.close();
      await store.close();
    },
  };
}

async function openCassandra(mongo: TestMongo): Promise<OpenedStore> {
  const server = await startTestCassandra();
  const keyspace = testKeyspace('bench_scan');
  const stores = await openStores(
    loadConfig('query', {
      STORE: 'cassandra',
      CASSANDRA_CONTACT_POINTS: server.contactPoints.join(','),
      CASSANDRA_KEYSPACE: keyspace,
      MONGO_URL: mongo.url,
      MONGO_DATABASE: 'bench_scan_meta',
      ID_SECRET,
    }),
  );
  const client = rawCassandraClient(server.contactPoints, keyspace);
  const partitions = {
    project: PROJECT,
    collection: 'c',
    buckets: Array.from({ length: DAYS }, (_, d) => new Date(START + d * DAY_MS)),
  };
  const fold =
    (visit: (body: Record<string, unknown>, out: Map<string, number>) => void) => async () => {
      const out = new Map<string, number>();
      await foldBodies(client, partitions, (body) => visit(body, out));
      return out;
    };
  const paged = 'paged SELECT body + JSON.parse';
  return {
    name: 'Cassandra',
    events: stores.events,
    native: {
      count: {
        best: 'SELECT count(*) per day partition',
        run: () => countPerPartition(client, partitions),
      },
      filtered: {
        best: `${paged} + client-side filter`,
        run: async () => {
          let n = 0;
          await foldBodies(client, partitions, (body) => void (body.country === 'FR' && n++));
          return n;
        },
      },
      group: { best: `${paged} + Map`, run: fold((body, out) => addTo(out, body.country, 1)) },
      sum: {
        best: `${paged} + Map`,
        run: fold((body, out) => addTo(out, body.country, body.price as number)),
      },
    },
    close: async () => {
      await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await client.shutdown();
      await stores.close();
      await server.stop();
    },
  };
}

/** Two significant digits, so a ratio far below 1 stays readable (0.0041, not 0.00). */
const ratio = (r: number): string => (r >= 1 ? r.toFixed(2) : r.toPrecision(2));

async function measure(store: OpenedStore, lines: string[], mismatches: string[]): Promise<void> {
  const service = new QueryService(store.events, loadConfig('query', {}));
  for (const q of SCAN_QUERIES) {
    const native = store.native[q.key];
    const tally = async (): Promise<Answer> => {
      const res = await service.run(PROJECT, q.analysis, {
        event_collection: 'c',
        timeframe: TIMEFRAME,
        ...q.params,
      });
      return tallyAnswer(res.result, q.params.group_by as string | undefined);
    };
    // The check doubles as a warm-up of both sides.
    const diff = sameAnswer(await tally(), await native.run());
    if (diff) mismatches.push(`${store.name} / ${q.label}: Tally != native: ${diff}`);
    const [tallyMs, nativeMs] = await interleavedMs(tally, native.run, RUNS);
    lines.push(
      `| ${store.name} | ${q.label} | ${native.best} | ${tallyMs.toFixed(0)} | ${fmt(rate(EVENTS, tallyMs))} | ` +
        `${nativeMs.toFixed(0)} | ${fmt(rate(EVENTS, nativeMs))} | ${ratio(nativeMs / tallyMs)} |`,
    );
    process.stderr.write(`${lines[lines.length - 1]}\n`);
  }
}

async function main(): Promise<void> {
  const events = benchEvents(EVENTS, DAYS * DAY_MS);
  const lines: string[] = [];
  const mismatches: string[] = [];
  const mongo =
    STORES.includes('mongo') || STORES.includes('cassandra') ? await startTestMongo() : null;
  try {
    const openers: Array<[string, () => Promise<OpenedStore>]> = [
      ['sqlite', openSqlite],
      ['mongo', () => openMongo(mongo!)],
      ['cassandra', () => openCassandra(mongo!)],
    ];
    for (const [key, open] of openers) {
      if (!STORES.includes(key)) continue;
      const store = await open();
      try {
        const t0 = Date.now();
        await load(store.events, events);
        const stored = await store.events.countCollection(PROJECT, 'c');
        process.stderr.write(
          `${store.name}: loaded ${fmt(stored)} events in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
        );
        if (stored !== EVENTS)
          mismatches.push(`${store.name}: stored ${stored} events, generated ${EVENTS}`);
        await measure(store, lines, mismatches);
      } finally {
        await store.close();
      }
    }
  } finally {
    await mongo?.stop();
  }
  process.stdout.write(
    [
      `store-scan: ${fmt(EVENTS)} events over ${DAYS} days, whole-collection timeframe, median of ${RUNS} interleaved runs`,
      '',
      '| store | query | native best | Tally ms | Tally events/s | native ms | native events/s | Tally/native (rate) |',
      '|---|---|---|---|---|---|---|---|',
      ...lines,
      '',
    ].join('\n'),
  );
  if (mismatches.length > 0) {
    process.stderr.write(
      `\n*** MISMATCH: Tally's answer differs from the store's native answer ***\n${mismatches.join('\n')}\n`,
    );
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
