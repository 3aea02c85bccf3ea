/**
 * Cassandra store: ingest throughput and scan rates, each next to the best the
 * plain driver does for the same result.
 * Run: `npm run bench -- cassandra-ingest`
 * (see docs/cassandra.md). Uses CASSANDRA_CONTACT_POINTS when set, else starts
 * a single node through the stack service on free ports in a temp dir.
 *
 * Ingest: the same rows, in batches of 500, with the same concurrency:
 *   - CassandraEventStore.insert (claim lookup, bucket rows, per-partition
 *     UNLOGGED batches, claims in one conditional batch per claim partition);
 *   - a raw loop of prepared INSERTs into a table of the same layout
 *     (no idempotence report: the floor for any store);
 *   - the raw loop with `IF NOT EXISTS` (the driver's own way to learn which
 *     rows were new: what idempotence with a "new" report costs natively).
 * Scan (whole collection): count and count group_by through the engine over
 * the store, vs `SELECT count(*)` per partition (count) and a hand loop over
 * the driver's paged rows (group_by on a body property has no CQL equivalent).
 */
import { CollectionEvent, deriveEventId } from '@app/events';
import { executeQuery, parseQuery } from '@app/query-engine';
import { CassandraEventStore } from '@app/storage/cassandra';
import { startTestCassandra } from '@app/storage/cassandra/testing';
import { benchEvents, DAY_MS as DAY, T0 } from './support/bench-events';
import { countPerPartition, foldBodies, rawCassandraClient } from './support/cassandra-native';
import { median } from './support/load';
import { addTo } from './support/scan-answers';
import { fmt, lanes, medianMs as medianOf, rate, timed } from './support/timing';

const EVENTS = Number(process.env.BENCH_EVENTS || 20_000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const BATCH = 500;
const CONCURRENCY = 32;
const DAYS = 10;

/**
 * The bench events under ids of keen.id's form (the event's second, then a
 * keyed hash), as Tally's ingest derives them: the store groups claims by the
 * id's time window (claim-partition.ts), so ids of another form would measure
 * one claim per partition. The events are spread over 10 days, as a backfill
 * is: a batch of 500 spans about 6 hours of windows.
 */
const makeEvents = (tag: string): CollectionEvent[] =>
  benchEvents(EVENTS, DAYS * DAY).map((e, index) => {
    const id = deriveEventId('bench', {
      projectId: 'bench',
      collection: e.collection,
      requestId: tag,
      index,
      content: '',
      timestamp: e.timestamp,
    });
    const keen = e.event.keen as Record<string, unknown>;
    return { ...e, id, event: { ...e.event, keen: { ...keen, id } } };
  });
const medianMs = (fn: () => Promise<unknown>) => medianOf(fn, RUNS);

async function main(): Promise<void> {
  const server = await startTestCassandra();
  const keyspace = `tally_bench_${Date.now().toString(36)}`;
  const store = new CassandraEventStore({
    contactPoints: server.contactPoints,
    keyspace,
    claimConcurrency: CONCURRENCY,
    writeConcurrency: CONCURRENCY,
  });
  await store.init();
  const raw = rawCassandraClient(server.contactPoints, keyspace);
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
  const partitions = { project, collection: 'c', buckets };
  const nativeCount = () => countPerPartition(raw, partitions);
  const nativeGroup = async () => {
    const groups = new Map<string, number>();
    await foldBodies(raw, partitions, (body) => addTo(groups, body.country, 1));
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
