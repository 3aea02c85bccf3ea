/**
 * Cassandra store: ingest throughput and scan rates, each next to the best the
 * plain driver does for the same result.
 * Run: `npm run build --silent && node dist/bench/run.js cassandra-ingest`
 * (see docs/cassandra.md). Uses CASSANDRA_CONTACT_POINTS when set, else starts
 * a single node through the stack service on free ports in a temp dir.
 *
 * Ingest: the same rows, in batches of 500, with the same concurrency:
 *   - CassandraEventStore.insert (by-id lookup, bucket rows, per-partition
 *     UNLOGGED batches, one LWT claim per event);
 *   - a raw loop of prepared INSERTs into a table of the same layout
 *     (no idempotence report: the floor for any store);
 *   - the raw loop with `IF NOT EXISTS` (the driver's own way to learn which
 *     rows were new: what idempotence with a "new" report costs natively).
 * Scan (whole collection): count and count group_by through the engine over
 * the store, vs `SELECT count(*)` per partition (count) and a hand loop over
 * the driver's paged rows (group_by on a body property has no CQL equivalent).
 */
import { Client, types } from 'cassandra-driver';
import { CollectionEvent } from '@app/events';
import { executeQuery, parseQuery } from '@app/query';
import { CassandraEventStore } from '../libs/storage/src/cassandra';
import * as cassandraService from '../scripts/stack/services/cassandra.service';
import { freePorts } from '../scripts/stack/process-control';
import { median } from './support/load';
import { tempDir } from './support/processes';

const EVENTS = Number(process.env.BENCH_EVENTS || 20_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const BATCH = 500;
const CONCURRENCY = 32;
const DAYS = 10;
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const COUNTRIES = ['FR', 'US', 'DE', 'JP', 'BR'];

function makeEvents(tag: string): CollectionEvent[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const timestamp = T0 + Math.floor((i / EVENTS) * DAYS * DAY);
    const id = `${tag}-${i.toString(16).padStart(20, '0')}`;
    return {
      collection: 'c',
      id,
      timestamp,
      event: {
        price: (i % 1000) / 10,
        country: COUNTRIES[i % 5],
        user: { id: `u${i % 5000}`, premium: i % 7 === 0 },
        keen: {
          id,
          timestamp: new Date(timestamp).toISOString(),
          created_at: new Date(timestamp).toISOString(),
        },
      },
    };
  });
}

async function lanes<T>(items: T[], n: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function medianMs(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timed(fn));
  return median(times);
}

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');

async function connect(): Promise<{ contactPoints: string[]; stop: () => Promise<void> }> {
  if (process.env.CASSANDRA_CONTACT_POINTS) {
    return {
      contactPoints: process.env.CASSANDRA_CONTACT_POINTS.split(','),
      stop: async () => undefined,
    };
  }
  const [port, storagePort] = await freePorts(2);
  const stateDir = tempDir('tally-bench-cassandra-');
  process.stderr.write(`starting Cassandra on 127.0.0.1:${port}...\n`);
  const handle = await cassandraService.start({
    name: 'cassandra-bench',
    port,
    storagePort,
    stateDir,
  });
  return { contactPoints: [`127.0.0.1:${port}`], stop: () => handle.stop() };
}

async function main(): Promise<void> {
  const server = await connect();
  const keyspace = `tally_bench_${Date.now().toString(36)}`;
  const store = new CassandraEventStore({
    contactPoints: server.contactPoints,
    keyspace,
    claimConcurrency: CONCURRENCY,
    writeConcurrency: CONCURRENCY,
  });
  await store.init();
  const raw = new Client({
    contactPoints: server.contactPoints,
    localDataCenter: 'datacenter1',
    keyspace,
    protocolOptions: { maxVersion: types.protocolVersion.v4 },
    queryOptions: { prepare: true, consistency: types.consistencies.localQuorum },
  });
  await raw.execute(`CREATE TABLE IF NOT EXISTS raw_events (
    project text, collection text, bucket timestamp, ts timestamp, id text, body text,
    PRIMARY KEY ((project, collection, bucket), ts, id))`);
  const rawInsert = (lwt: boolean) =>
    `INSERT INTO raw_events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)${lwt ? ' IF NOT EXISTS' : ''}`;

  const tally: number[] = [];
  const plain: number[] = [];
  const lwt: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const events = makeEvents(`r${r}`);
    const batches = Array.from({ length: Math.ceil(EVENTS / BATCH) }, (_, b) =>
      events.slice(b * BATCH, (b + 1) * BATCH),
    );
    tally.push(
      rate(
        EVENTS,
        await timed(async () => {
          for (const batch of batches) await store.insert(`ingest-${r}`, batch);
        }),
      ),
    );
    for (const [out, conditional] of [
      [plain, false],
      [lwt, true],
    ] as const) {
      out.push(
        rate(
          EVENTS,
          await timed(async () => {
            for (const batch of batches) {
              await lanes(batch, CONCURRENCY, (e) =>
                raw.execute(rawInsert(conditional), [
                  `raw-${conditional}-${r}`,
                  e.collection,
                  new Date(store.bucketOf(e.timestamp)),
                  new Date(e.timestamp),
                  e.id,
                  JSON.stringify(e.event),
                ]),
              );
            }
          }),
        ),
      );
    }
  }
  const lines: string[] = [];
  const tallyMed = median(tally);
  lines.push(
    `### Ingest into Cassandra: ${fmt(EVENTS)} events in batches of ${BATCH}, concurrency ${CONCURRENCY} (median of ${RUNS})`,
    '',
  );
  lines.push('| writer | events/s | Tally / this |', '|---|---|---|');
  lines.push(
    `| CassandraEventStore.insert (idempotent, reports new ids) | ${fmt(tallyMed)} | 1.00 |`,
  );
  lines.push(
    `| raw driver loop, plain INSERT (no idempotence report) | ${fmt(median(plain))} | ${(tallyMed / median(plain)).toFixed(2)} |`,
  );
  lines.push(
    `| raw driver loop, INSERT ... IF NOT EXISTS | ${fmt(median(lwt))} | ${(tallyMed / median(lwt)).toFixed(2)} |`,
  );

  // Scans over the collection written by the first Tally run.
  const project = 'ingest-0';
  const timeframe = {
    start: new Date(T0).toISOString(),
    end: new Date(T0 + DAYS * DAY).toISOString(),
  };
  const buckets = Array.from({ length: DAYS }, (_, d) => new Date(T0 + d * DAY));
  const engine = async (params: Record<string, unknown>, analysis = 'count') =>
    executeQuery(parseQuery(analysis, { event_collection: 'c', timeframe, ...params }), store, {
      projectId: project,
    });
  const nativeCount = async () => {
    let n = 0;
    await lanes(buckets, 4, async (bucket) => {
      const rs = await raw.execute(
        'SELECT count(*) AS n FROM events WHERE project = ? AND collection = ? AND bucket = ?',
        [project, 'c', bucket],
      );
      n += (rs.first().n as types.Long).toNumber();
    });
    return n;
  };
  const nativeGroup = async () => {
    const groups = new Map<string, number>();
    await lanes(buckets, 4, async (bucket) => {
      let pageState: string | undefined;
      do {
        const rs = await raw.execute(
          'SELECT body FROM events WHERE project = ? AND collection = ? AND bucket = ?',
          [project, 'c', bucket],
          { fetchSize: 1000, pageState, autoPage: false },
        );
        for (const row of rs.rows) {
          const country = (JSON.parse(row.body as string) as { country: string }).country;
          groups.set(country, (groups.get(country) ?? 0) + 1);
        }
        pageState = rs.pageState ?? undefined;
      } while (pageState);
    });
    return groups;
  };
  const check = await engine({});
  if (check.result !== EVENTS || (await nativeCount()) !== EVENTS)
    throw new Error(`count mismatch: engine ${String(check.result)}, expected ${EVENTS}`);
  const cases: Array<[string, () => Promise<unknown>, () => Promise<unknown>, string]> = [
    ['count', () => engine({}), nativeCount, 'SELECT count(*) per partition'],
    [
      'count group_by country',
      () => engine({ group_by: 'country' }),
      nativeGroup,
      'paged SELECT body + JSON.parse + Map',
    ],
    [
      'sum price group_by country',
      () => engine({ target_property: 'price', group_by: 'country' }, 'sum'),
      nativeGroup,
      'paged SELECT body + JSON.parse + Map',
    ],
  ];
  lines.push(
    '',
    `### Scans over ${fmt(EVENTS)} events in ${DAYS} day partitions (median of ${RUNS})`,
    '',
  );
  lines.push(
    '| query | Tally engine events/s | native best | native events/s | Tally / native |',
    '|---|---|---|---|---|',
  );
  for (const [name, tallyRun, nativeRun, nativeName] of cases) {
    const t = await medianMs(tallyRun);
    const n = await medianMs(nativeRun);
    lines.push(
      `| ${name} | ${fmt(rate(EVENTS, t))} | ${nativeName} | ${fmt(rate(EVENTS, n))} | ${(n / t).toFixed(2)} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await raw.execute(`DROP KEYSPACE ${keyspace}`).catch(() => undefined);
  await raw.shutdown();
  await store.close();
  await server.stop();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
  process.exit(1);
});
