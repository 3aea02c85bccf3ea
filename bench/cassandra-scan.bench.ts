/**
 * Cassandra scans against a native parallel read: the rate of
 * CassandraEventStore.scan (the code path every query reads through) next to
 * the best hand-written parallel paged read of the same partitions with the
 * plain driver, in the same run against the same server.
 * Run: `npm run bench -- cassandra-scan` (figures in docs/benchmarks-split.md).
 *
 * The parent process starts Cassandra (or uses CASSANDRA_CONTACT_POINTS),
 * loads BENCH_EVENTS events spread over BENCH_DAYS one-day partitions of one
 * collection, then runs the measurements in a child process, the "query
 * process", whose memory holds nothing of the load:
 *   (a) Tally: the store built from a query process's config
 *       (cassandraEventStoreOptions, so CASSANDRA_SCAN_CONCURRENCY and
 *       CASSANDRA_PAGE_SIZE apply), `scan()` over the whole timeframe without
 *       an order (what count, sum and group_by ask for), counting events and
 *       summing `price` from each decoded body;
 *   (b) native: readBodiesParallel, the same partitions with the same
 *       concurrency and fetch size, next page requested before the current one
 *       is decoded, JSON.parse and the same fold.
 * Both are timed in alternation (median of BENCH_RUNS); both answers must be
 * equal (a mismatch fails the run). Peak RSS is sampled during each. Then one
 * scan in time order (`order: 'asc'`, as extractions ask) and one over a single
 * day, with their peak RSS: memory does not grow with the timeframe.
 *
 * Loading: BENCH_LOAD=rows (default) writes the bucket and event rows exactly
 * as insert() does (CassandraEventWriter) without the per-event by-id claim,
 * a Paxos round scans never read (1M events in minutes instead of hours);
 * BENCH_LOAD=insert goes through insert().
 *
 * Knobs: BENCH_EVENTS (1000000), BENCH_DAYS (30), BENCH_RUNS (5), BENCH_LOAD,
 * CASSANDRA_CONTACT_POINTS, CASSANDRA_SCAN_CONCURRENCY, CASSANDRA_PAGE_SIZE;
 * BENCH_KEYSPACE names a keyspace to keep between runs (loaded only when it
 * does not hold BENCH_EVENTS events; never dropped).
 */
import { spawn } from 'node:child_process';
import { loadConfig, TallyConfig } from '@app/config';
import { CollectionEvent } from '@app/events';
import { ScanRequest } from '@app/query-engine';
import {
  CassandraEventStore,
  CassandraEventWriter,
  cassandraEventStoreOptions,
} from '@app/storage/cassandra';
import { startTestCassandra, testKeyspace } from '@app/storage/cassandra/testing';
import { benchEvent, DAY_MS, T0 } from './support/bench-events';
import { PartitionSet, rawCassandraClient, readBodiesParallel } from './support/cassandra-native';
import { median } from './support/load';
import { fmt, lanes, rate, retried, timed } from './support/timing';

const EVENTS = Number(process.env.BENCH_EVENTS || 1_000_000);
const DAYS = Number(process.env.BENCH_DAYS || 30);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const LOAD = process.env.BENCH_LOAD || 'rows';
const PROJECT = 'bench';
const START = T0;
const END = T0 + DAYS * DAY_MS;
const CHUNK = 2000;
const MB = 1024 * 1024;
// loadConfig refuses a split store without one; its value does not matter here.
const ID_SECRET = 'cassandra-scan-bench-secret-00000000001';

function queryConfig(contactPoints: string, keyspace: string): TallyConfig {
  const env: Record<string, string | undefined> = {
    STORE: 'cassandra',
    CASSANDRA_CONTACT_POINTS: contactPoints,
    CASSANDRA_KEYSPACE: keyspace,
    CASSANDRA_SCAN_CONCURRENCY: process.env.CASSANDRA_SCAN_CONCURRENCY,
    CASSANDRA_PAGE_SIZE: process.env.CASSANDRA_PAGE_SIZE,
    ID_SECRET,
  };
  return loadConfig('query', env);
}

/** Event `i` of the generated collection (made on the fly: 1M events never sit in memory). */
const eventAt = (i: number): CollectionEvent => benchEvent(i, EVENTS, DAYS * DAY_MS);

async function load(store: CassandraEventStore, contactPoints: string[], keyspace: string) {
  const starts = Array.from({ length: Math.ceil(EVENTS / CHUNK) }, (_, c) => c * CHUNK);
  const chunk = (from: number) =>
    Array.from({ length: Math.min(CHUNK, EVENTS - from) }, (_, k) => eventAt(from + k));
  if (LOAD === 'insert') {
    await lanes(starts, 4, (from) => retried('insert', () => store.insert(PROJECT, chunk(from))));
    return;
  }
  const client = rawCassandraClient(contactPoints, keyspace);
  try {
    const writer = new CassandraEventWriter(client, (ts) => store.bucketOf(ts), 64, 64);
    await lanes(starts, 4, async (from) => {
      const events = chunk(from);
      await retried('load', async () => {
        await writer.writeBuckets(PROJECT, events);
        await writer.writeRows(PROJECT, events);
      });
    });
  } finally {
    await client.shutdown();
  }
}

async function parent(): Promise<void> {
  const server = await startTestCassandra();
  // A named keyspace is kept, and loaded only if it does not hold the collection yet.
  const kept = process.env.BENCH_KEYSPACE;
  const keyspace = kept || testKeyspace('bench_cscan');
  const contactPoints = server.contactPoints.join(',');
  const store = new CassandraEventStore(
    cassandraEventStoreOptions(queryConfig(contactPoints, keyspace)),
  );
  try {
    await store.init();
    const t0 = Date.now();
    let stored = kept ? await store.countCollection(PROJECT, 'c') : 0;
    if (stored !== EVENTS) {
      await load(store, server.contactPoints, keyspace);
      stored = await store.countCollection(PROJECT, 'c');
      process.stderr.write(
        `loaded ${fmt(stored)} events over ${DAYS} days (${LOAD}) in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
      );
    }
    if (stored !== EVENTS) throw new Error(`stored ${stored} events, generated ${EVENTS}`);
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--expose-gc', __filename], {
        env: {
          ...process.env,
          BENCH_CHILD: '1',
          CASSANDRA_CONTACT_POINTS: contactPoints,
          BENCH_KEYSPACE: keyspace,
        },
        stdio: 'inherit',
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) process.exitCode = 1;
  } finally {
    if (!kept) {
      const admin = rawCassandraClient(server.contactPoints, 'system');
      await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => undefined);
      await admin.shutdown();
    }
    await store.close();
    await server.stop();
  }
}

/** What both sides compute: the events seen and the sum of their `price`. */
interface Fold {
  events: number;
  price: number;
}

interface Measured<T> {
  value: T;
  ms: number;
  /** CPU time of this process (user + system), ms: what the client side costs, whatever the load. */
  cpuMs: number;
  /** Peak RSS, bytes. */
  rss: number;
}

/** Time, CPU and peak RSS of `fn`; RSS sampled every 5 ms (pages are awaited, so the timer gets turns). */
async function measured<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  (global as { gc?: () => void }).gc?.();
  let rss = process.memoryUsage.rss();
  const timer = setInterval(() => (rss = Math.max(rss, process.memoryUsage.rss())), 5);
  try {
    let value: T | undefined;
    const cpu = process.cpuUsage();
    const ms = await timed(async () => (value = await fn()));
    const used = process.cpuUsage(cpu);
    rss = Math.max(rss, process.memoryUsage.rss());
    return { value: value as T, ms, cpuMs: (used.user + used.system) / 1000, rss };
  } finally {
    clearInterval(timer);
  }
}

async function child(): Promise<void> {
  const keyspace = process.env.BENCH_KEYSPACE!;
  const contactPoints = process.env.CASSANDRA_CONTACT_POINTS!;
  const config = queryConfig(contactPoints, keyspace);
  const options = cassandraEventStoreOptions(config);
  const store = new CassandraEventStore(options);
  await store.init();
  const client = rawCassandraClient(options.contactPoints, keyspace);
  const concurrency = config.storage.cassandraScanConcurrency;
  const fetchSize = config.storage.cassandraPageSize;
  const partitions: PartitionSet = {
    project: PROJECT,
    collection: 'c',
    buckets: Array.from({ length: DAYS }, (_, d) => new Date(START + d * DAY_MS)),
  };
  const base: ScanRequest = { projectId: PROJECT, collection: 'c', start: START, end: END };
  const tally = async (request: ScanRequest = base): Promise<Fold> => {
    const out = { events: 0, price: 0 };
    for await (const page of store.scan(request))
      for (const e of page) {
        out.events++;
        out.price += e.event.price as number;
      }
    return out;
  };
  const native = async (): Promise<Fold> => {
    const out = { events: 0, price: 0 };
    await readBodiesParallel(client, partitions, { concurrency, fetchSize }, (body) => {
      out.events++;
      out.price += body.price as number;
    });
    return out;
  };
  const failures: string[] = [];
  const check = (what: string, got: Fold, want: Fold) => {
    if (got.events !== want.events || got.price !== want.price)
      failures.push(`${what}: ${JSON.stringify(got)} != native ${JSON.stringify(want)}`);
  };
  try {
    const idle = process.memoryUsage.rss();
    // The first pair doubles as the warm-up (prepared statements, JIT).
    const want = await native();
    check('warm-up scan', await tally(), want);
    if (want.events !== EVENTS)
      failures.push(`native read ${want.events} events, stored ${EVENTS}`);
    const tallyRuns: Array<Measured<Fold>> = [];
    const nativeRuns: Array<Measured<Fold>> = [];
    for (let r = 0; r < RUNS; r++) {
      const t = await measured(() => tally());
      check(`run ${r + 1}`, t.value, want);
      tallyRuns.push(t);
      const n = await measured(native);
      check(`run ${r + 1} (native)`, n.value, want);
      nativeRuns.push(n);
      process.stderr.write(
        `run ${r + 1}: Tally ${t.ms.toFixed(0)} ms (${fmt(rate(EVENTS, t.ms))}/s, CPU ${t.cpuMs.toFixed(0)} ms), ` +
          `native ${n.ms.toFixed(0)} ms (${fmt(rate(EVENTS, n.ms))}/s, CPU ${n.cpuMs.toFixed(0)} ms)\n`,
      );
    }
    const asc = await measured(() => tally({ ...base, order: 'asc' }));
    check('asc scan', asc.value, want);
    const dayEvents = Math.round(EVENTS / DAYS);
    const day = await measured(() =>
      tally({ ...base, start: START + 7 * DAY_MS, end: START + 8 * DAY_MS }),
    );
    if (Math.abs(day.value.events - dayEvents) > 1)
      failures.push(`one-day scan: ${day.value.events} events, expected ~${dayEvents}`);
    const tallyMs = median(tallyRuns.map((t) => t.ms));
    const nativeMs = median(nativeRuns.map((t) => t.ms));
    const pairRatios = tallyRuns.map((t, i) => nativeRuns[i].ms / t.ms);
    const cpu = (runs: Array<Measured<Fold>>) => median(runs.map((r) => r.cpuMs)).toFixed(0);
    const peak = (runs: Array<{ rss: number }>) =>
      `${(Math.max(...runs.map((r) => r.rss)) / MB).toFixed(0)} MB`;
    process.stdout.write(
      [
        `cassandra-scan: ${fmt(EVENTS)} events over ${DAYS} one-day partitions, ` +
          `scan concurrency ${concurrency}, page size ${fetchSize}, median of ${RUNS} interleaved runs ` +
          `(query process RSS before the runs: ${(idle / MB).toFixed(0)} MB)`,
        '',
        '| read | ms | events/s | client CPU ms | peak RSS |',
        '|---|---|---|---|---|',
        `| (a) Tally: CassandraEventStore.scan, no order | ${tallyMs.toFixed(0)} | ${fmt(rate(EVENTS, tallyMs))} | ${cpu(tallyRuns)} | ${peak(tallyRuns)} |`,
        `| (b) native: driver, ${concurrency} partitions in parallel, page read-ahead, JSON.parse | ${nativeMs.toFixed(0)} | ${fmt(rate(EVENTS, nativeMs))} | ${cpu(nativeRuns)} | ${peak(nativeRuns)} |`,
        `| Tally, order asc (one run) | ${asc.ms.toFixed(0)} | ${fmt(rate(EVENTS, asc.ms))} | ${cpu([asc])} | ${peak([asc])} |`,
        `| Tally, one day, no order (one run) | ${day.ms.toFixed(0)} | ${fmt(rate(day.value.events, day.ms))} | ${cpu([day])} | ${peak([day])} |`,
        '',
        // Runs are interleaved (Tally, then native, in each run), so each run's
        // pair met the machine in the same state: the median of those ratios
        // is printed beside the ratio of the two medians.
        `Tally / native (rate): ${(nativeMs / tallyMs).toFixed(2)} (ratio of the medians); ` +
          `median of the per-run ratios ${median(pairRatios).toFixed(2)}; per run: ${pairRatios.map((r) => r.toFixed(2)).join(', ')}`,
        `answers: ${fmt(want.events)} events, price sum ${want.price} (Tally = native in every run: ${failures.length === 0 ? 'yes' : 'NO'})`,
        '',
      ].join('\n'),
    );
  } finally {
    await client.shutdown();
    await store.close();
  }
  if (failures.length > 0) {
    process.stderr.write(`\n*** MISMATCH ***\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

(process.env.BENCH_CHILD ? child() : parent()).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
