/**
 * End-to-end ingest of the split deployment: through nginx, ingest, Redis and
 * the worker until every event is stored and every job is done (ids claimed,
 * counters applied), next to a raw insert into the same store in the same run
 * (the store's own ceiling): 100-document insertMany loops into the Mongo-wire
 * server, or with STORE=cassandra concurrent plain INSERTs of the same rows
 * through Cassandra's own driver (and 100-row batches, reported beside them),
 * alternating rounds so machine noise hits both. Also the ingest latency seen by
 * the client (p50/p99: the time to an acknowledgement, not to storage).
 * Run: `npm run bench -- split-ingest`
 * (figures in docs/benchmarks-split.md).
 */
import { performance } from 'node:perf_hooks';
import { scrape } from '@test/support/prometheus';
import {
  markedEvent,
  ProjectKeys,
  sleep,
  SplitStack,
  STILL_TO_PROCESS,
} from '@test/support/split-stack';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { deriveEventId } from '@app/events';
import { median } from './support/load';
import { rawCassandraClient } from './support/cassandra-native';
import { lanes } from './support/timing';
import { cpuSecondsByName, ownCpuSeconds } from './support/process-cpu';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 16);
// Single events come from many browsers and phones at once, each waiting only
// for its own answer. Sixteen connections in lockstep measured the
// acknowledgement's latency instead (16 / ~7 ms caps a round near 2,300
// requests/s whatever the CPUs could do) and left group commit little to
// group: 4.7 events per queue job at 16 connections, 10.9 at 64.
const SINGLE_CONNECTIONS = Number(process.env.BENCH_SINGLE_CONNECTIONS || 64);
const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS || 10_000);
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS || 2_000);
const BACKLOG_EVENTS = Number(process.env.BENCH_BACKLOG_EVENTS || 5_000);
const DRAIN_TIMEOUT_MS = Number(process.env.BENCH_DRAIN_TIMEOUT_MS || 600_000);
const STALL_MS = Number(process.env.BENCH_STALL_MS || 30_000);
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP_ROUNDS ?? 1);
// Which scenarios run: any of batch, single, backlog (comma-separated).
const SCENARIO_KEYS = ['batch', 'single', 'backlog'];
const SCENARIOS = (process.env.BENCH_SCENARIOS || SCENARIO_KEYS.join(',')).split(',');
const unknownScenarios = SCENARIOS.filter((k) => !SCENARIO_KEYS.includes(k));
if (unknownScenarios.length > 0) {
  throw new Error(
    `BENCH_SCENARIOS: unknown ${unknownScenarios.join(', ')} (known: ${SCENARIO_KEYS.join(', ')})`,
  );
}

interface Scenario {
  /** Its name in BENCH_SCENARIOS. */
  key: string;
  name: string;
  eventsPerRequest: number;
  events: number;
  /**
   * The worker is stopped while the events are sent and started after the last
   * acknowledgement: the stored rate is then the worker's and the store's alone,
   * from the first event stored to the last, without the edge on the same CPUs.
   */
  backlog?: boolean;
}

interface RoundResult {
  /** Acknowledged events that never reached the store (must be 0). */
  lost: number;
  /** Events stored per second, from the first request to the last event in MongoDB. */
  storedPerSec: number;
  /** Events acknowledged per second at the edge (ingest only). */
  ackedPerSec: number;
  /** Client-side latency to the acknowledgement, ms. */
  p50: number;
  p99: number;
  failed: number;
  /** Jobs the ingest processes enqueued for the round: group commit's effect. */
  jobs: number;
  /** Events per store write of the worker (one job, or several combined). */
  eventsPerWrite: number;
  /** CPU µs each kind of process spent per stored event, the bench's own client included. */
  cpuPerEvent: Record<string, number>;
  /** CPU seconds of every process together per second of the round: 2 is both CPUs. */
  cpuBusy: number;
}

/** The worker's store writes so far, and the events they carried (its own /metrics port). */
async function workerWrites(stack: SplitStack): Promise<{ writes: number; events: number }> {
  let writes = 0;
  let events = 0;
  for (const port of stack.ports.worker) {
    const { scrape: s } = await scrape(`http://127.0.0.1:${port}/metrics`);
    writes += s.value('tally_worker_write_events_count');
    events += s.value('tally_worker_write_events_sum');
  }
  return { writes, events };
}

/** Each process's CPU seconds so far, by name, with the pid it was read from. */
type CpuReading = Map<string, { pid: number; cpu: number }>;

/** A stack process's kind: `ingest-2` counts as `ingest`. */
const kindOf = (name: string): string => name.replace(/-\d+$/, '');

/** CPU seconds so far of every running stack process, by name, and of this process (`client`). */
async function cpuNow(stack: SplitStack): Promise<CpuReading> {
  const pids: Record<string, number> = {};
  for (const s of await stack.status()) if (s.up && s.pid) pids[s.name] = s.pid;
  const cpu = cpuSecondsByName(pids);
  const out = new Map(Object.entries(pids).map(([name, pid]) => [name, { pid, cpu: cpu[name] }]));
  out.set('client', { pid: process.pid, cpu: ownCpuSeconds() });
  return out;
}

/**
 * CPU µs per stored event by kind of process between two readings: a process
 * started after `before` (the backlog's worker) counts from its `started` reading.
 */
function cpuSpent(
  before: CpuReading,
  started: CpuReading,
  after: CpuReading,
  stored: number,
  seconds: number,
): { perEvent: Record<string, number>; busy: number } {
  const perEvent: Record<string, number> = {};
  let total = 0;
  for (const [name, now] of after) {
    const then = [before.get(name), started.get(name)].find((r) => r?.pid === now.pid);
    const spent = now.cpu - (then?.cpu ?? now.cpu);
    total += spent;
    const kind = kindOf(name);
    perEvent[kind] = (perEvent[kind] ?? 0) + (spent * 1e6) / Math.max(1, stored);
  }
  return { perEvent, busy: total / seconds };
}

/** Jobs enqueued so far by every ingest process (their own /metrics ports). */
async function enqueuedJobs(stack: SplitStack): Promise<number> {
  let jobs = 0;
  for (const port of stack.ports.ingest) {
    const { scrape: s } = await scrape(`http://127.0.0.1:${port}/metrics`);
    jobs += s.value('tally_queue_shard_enqueued_jobs_total');
  }
  return jobs;
}

/**
 * Jobs still to process on every shard (waiting, active, prioritized, delayed),
 * read over one open connection per shard: the stack's redis-cli helper spawns a
 * process per command, eight per look, too much CPU to poll with.
 */
class QueueWatch {
  private readonly shards: Redis[];

  constructor(stack: SplitStack) {
    this.shards = stack.ports.redis.map(
      (port) => new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 1 }),
    );
  }

  async queued(): Promise<number> {
    const counts = await Promise.all(
      this.shards.map(async (r) => {
        const look = r.multi();
        for (const state of STILL_TO_PROCESS) {
          const key = `bull:tally-ingest:${state}`;
          if (state === 'wait' || state === 'active') look.llen(key);
          else look.zcard(key);
        }
        const res = await look.exec();
        return (res ?? []).reduce((n, [, v]) => n + (Number(v) || 0), 0);
      }),
    );
    return counts.reduce((n, c) => n + c, 0);
  }

  close(): void {
    for (const r of this.shards) r.disconnect();
  }
}

async function e2eRound(
  stack: SplitStack,
  watch: QueueWatch,
  keys: ProjectKeys,
  s: Scenario,
  round: number,
): Promise<RoundResult> {
  const collection = `bench_${s.eventsPerRequest}_${round}`;
  const requests = Math.ceil(s.events / s.eventsPerRequest);
  let next = 0;
  let acked = 0;
  const single = s.eventsPerRequest === 1;
  const url = stack.url(keys.id, single ? `/events/${collection}` : '/events');
  const jobsBefore = await enqueuedJobs(stack);
  if (s.backlog) await stack.stopService('worker-1');
  const cpuBefore = await cpuNow(stack);
  // A restarted worker (the backlog's) counts its writes from zero.
  const writesBefore = s.backlog ? { writes: 0, events: 0 } : await workerWrites(stack);
  const t0 = performance.now();
  // The last acknowledgement's time, taken here: autocannon returns on its own
  // one-second tick, which made every round last a whole number of seconds
  // (2,000 single events "acknowledged at 998/s" in 2.004 s).
  let lastAck = t0;
  // The queue seen empty while the load runs (the start of each look): the
  // worker may finish the last job before autocannon returns.
  const emptySeen: number[] = [];
  let running = !s.backlog;
  const watcher = (async () => {
    while (running) {
      const at = performance.now();
      if ((await watch.queued()) === 0) emptySeen.push(at);
      await sleep(50);
    }
  })();
  // autocannon drives the keep-alive connections, as in ingest-standalone: the
  // client shares the two CPUs with every process of the stack, and a fetch()
  // per request cost ~920 us of CPU against autocannon's ~100 (3x the whole
  // ingest tier's), which bounded single events at the client.
  // Stopped and awaited however the load ends, so a failing round reports its own
  // error rather than the watcher's, cut off when the connections close.
  let result: autocannon.Result;
  try {
    result = await autocannon({
      url,
      method: 'POST',
      connections: single ? SINGLE_CONNECTIONS : CONNECTIONS,
      amount: requests,
      headers: { authorization: keys.write_key, 'content-type': 'application/json' },
      requests: [
        {
          setupRequest: (request) => {
            const r = next++;
            const events = Array.from({ length: s.eventsPerRequest }, (_, i) =>
              markedEvent(`${collection}-${r}-${i}`, r * s.eventsPerRequest + i),
            );
            return {
              ...request,
              body: JSON.stringify(single ? events[0] : { [collection]: events }),
            };
          },
          onResponse: (status, body) => {
            lastAck = performance.now();
            if (status !== 201 && status !== 200) return;
            acked += single
              ? 1
              : (JSON.parse(body)[collection] as Array<{ success: boolean }>).filter(
                  (x) => x.success,
                ).length;
          },
        },
      ],
    });
  } finally {
    running = false;
    await watcher;
  }
  const failed = result.non2xx + result.errors + result.timeouts;
  const ackedAt = lastAck;
  const jobs = (await enqueuedJobs(stack)) - jobsBefore;
  if (s.backlog) await stack.startService('worker-1');
  const cpuStarted = s.backlog ? await cpuNow(stack) : cpuBefore;
  // Until every job is done (none waiting, active or delayed on any shard: each
  // id claimed and counted), or the queue stops moving. The stored events are
  // counted once at the end; a shortfall is reported as lost (acknowledged but
  // never stored). The store is counted only while a backlog's first event is
  // awaited (its rate is timed from there): polled every 100 ms, the test
  // server's countDocuments over a round's 10,000 events took 35-75 ms of its
  // CPU each time, a third of a core or more taken from the writes measured.
  const until = Date.now() + DRAIN_TIMEOUT_MS;
  let storedAt = emptySeen.find((at) => at > lastAck);
  let lastMove = Date.now();
  let queued = -1;
  let first: { at: number; stored: number } | undefined = undefined;
  while (storedAt === undefined) {
    if (s.backlog && !first) {
      const n = await stack.storedCount(keys.id, collection);
      if (n > 0) first = { at: performance.now(), stored: n };
    }
    const at = performance.now();
    const now = await watch.queued();
    if (now !== queued) {
      queued = now;
      lastMove = Date.now();
    }
    if (queued === 0 && (first || !s.backlog)) storedAt = at;
    else if (Date.now() > until || Date.now() - lastMove > STALL_MS) storedAt = performance.now();
    else await sleep(50);
  }
  const cpuAfter = await cpuNow(stack);
  const writesAfter = await workerWrites(stack);
  const cpuEnd = performance.now();
  const stored = await stack.storedCount(keys.id, collection);
  const cpu = cpuSpent(cpuBefore, cpuStarted, cpuAfter, stored, (cpuEnd - t0) / 1000);
  const storedPerSec =
    s.backlog && first && storedAt > first.at
      ? (stored - first.stored) / ((storedAt - first.at) / 1000)
      : stored / ((storedAt - t0) / 1000);
  return {
    lost: acked - stored,
    storedPerSec,
    ackedPerSec: acked / ((ackedAt - t0) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed,
    jobs,
    eventsPerWrite:
      (writesAfter.events - writesBefore.events) /
      Math.max(1, writesAfter.writes - writesBefore.writes),
    cpuPerEvent: cpu.perEvent,
    cpuBusy: cpu.busy,
  };
}

/**
 * The raw baseline's events/s (the ratio's), and a second way of writing the
 * same rows reported beside it: on MongoDB with sequential ids, on Cassandra in
 * 100-row batches.
 */
interface RawRates {
  rate: number;
  alt: number;
}

/**
 * The same documents (layout of MongoEventStore, ids of keen.id's form) straight
 * into the same server, 100 per insertMany, 4 loops; then the same with
 * sequential ids (`raw-<round>-<n>`), which this bench used until 2026-11-30.
 * The ids decide the test server's cost: its `_id` B-tree takes sequential keys
 * at the right edge, while a keen.id (the event's second, then a keyed hash)
 * lands anywhere among the keys of its second. A round of the worker's inserts
 * took 2-4x the server CPU per event of the sequential loop; with keen.id-form
 * ids the raw loop itself runs at about half its sequential rate.
 */
async function rawRound(stack: SplitStack, events: number, round: number): Promise<RawRates> {
  const db = await stack.db();
  const loop = async (name: string, idOf: (i: number) => string) => {
    const coll = db.collection(name);
    let n = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(CONNECTIONS, 4) }, async () => {
        while (n < events) {
          const docs = Array.from({ length: 100 }, () => {
            const i = n++;
            return {
              _id: idOf(i),
              p: 'bench',
              c: 'raw',
              t: new Date(),
              e: markedEvent(`raw-${i}`, i),
            };
          });
          await coll.insertMany(docs as never[], { ordered: false });
        }
      }),
    );
    return n / ((performance.now() - t0) / 1000);
  };
  const keenId = (i: number) =>
    deriveEventId('bench-raw', {
      projectId: 'bench',
      collection: 'raw',
      requestId: `raw-${round}`,
      index: i,
      content: '',
      timestamp: Date.now(),
    });
  const rate = await loop(`bench_raw_${round}`, keenId);
  const alt = await loop(`bench_raw_seq_${round}`, (i) => `raw-${round}-${i}`);
  return { rate, alt };
}

const DAY_MS = 86_400_000;

/**
 * The same rows as CassandraEventStore's events table (partition per project,
 * collection and day; body as JSON text), written by the driver with no claim,
 * no counters and no idempotence report, two ways: plain prepared INSERTs 32 at
 * once (the baseline the ratio uses, as in docs/cassandra.md), and UNLOGGED
 * single-partition batches of 100 rows, 4 at once (as the MongoDB baseline's
 * insertMany), reported beside it. Each starts with an untimed warm-up (a fresh client prepares its
 * statement and opens its connections; timed, that made the first round's raw
 * rate a third of the next one's).
 */
async function rawCassandraRound(
  stack: SplitStack,
  events: number,
  round: number,
): Promise<RawRates> {
  const client = rawCassandraClient(
    stack.env.CASSANDRA_CONTACT_POINTS.split(','),
    stack.env.CASSANDRA_KEYSPACE || 'tally',
  );
  const insert =
    'INSERT INTO bench_raw_events (project, collection, bucket, ts, id, body) VALUES (?, ?, ?, ?, ?, ?)';
  const row = (collection: string, i: number) => {
    const ts = Date.now();
    return [
      'bench',
      collection,
      new Date(ts - (ts % DAY_MS)),
      new Date(ts),
      `raw-${round}-${i}`,
      JSON.stringify(markedEvent(`raw-${i}`, i)),
    ];
  };
  const rowsPerSec = async (collection: string, n: number) => {
    const t0 = performance.now();
    await lanes(
      Array.from({ length: n }, (_, i) => i),
      32,
      (i) => client.execute(insert, row(collection, i), { prepare: true }),
    );
    return n / ((performance.now() - t0) / 1000);
  };
  const batchesPerSec = async (collection: string, n: number) => {
    const starts = Array.from({ length: Math.ceil(n / 100) }, (_, b) => b * 100);
    const t0 = performance.now();
    await lanes(starts, 4, (from) =>
      client.batch(
        Array.from({ length: Math.min(100, n - from) }, (_, k) => ({
          query: insert,
          params: row(collection, from + k),
        })),
        { prepare: true, logged: false },
      ),
    );
    return n / ((performance.now() - t0) / 1000);
  };
  try {
    await client.execute(`CREATE TABLE IF NOT EXISTS bench_raw_events (
      project text, collection text, bucket timestamp, ts timestamp, id text, body text,
      PRIMARY KEY ((project, collection, bucket), ts, id))`);
    await rowsPerSec(`raw_warm_${round}`, 500);
    await batchesPerSec(`raw_warm_${round}`, 500);
    const rate = await rowsPerSec(`raw_${round}`, events);
    const alt = await batchesPerSec(`raw_batch_${round}`, events);
    return { rate, alt };
  } finally {
    await client.shutdown();
  }
}

async function main(): Promise<void> {
  // The worker's hold, to compare with other settings (the stack passes the apps
  // only the environment it is given).
  const workerEnv: Record<string, string> = {};
  if (process.env.BENCH_WORKER_CONCURRENCY)
    workerEnv.WORKER_CONCURRENCY = process.env.BENCH_WORKER_CONCURRENCY;
  if (process.env.BENCH_WORKER_MAX_HELD_EVENTS)
    workerEnv.WORKER_MAX_HELD_EVENTS = process.env.BENCH_WORKER_MAX_HELD_EVENTS;
  if (process.env.BENCH_WORKER_BATCH_MAX_EVENTS)
    workerEnv.WORKER_BATCH_MAX_EVENTS = process.env.BENCH_WORKER_BATCH_MAX_EVENTS;
  const stack = await SplitStack.start({ logLevel: 'warn', env: workerEnv });
  const rawInsert = stack.store === 'cassandra' ? rawCassandraRound : rawRound;
  const lines: string[] = [];
  const cpuRows: { scenario: string; perEvent: Record<string, number>; busy: number }[] = [];
  const watch = new QueueWatch(stack);
  try {
    const keys = await stack.createProject('bench');
    const scenarios: Scenario[] = [
      { key: 'batch', name: '100-event batch POST', eventsPerRequest: 100, events: BATCH_EVENTS },
      { key: 'single', name: 'single event POST', eventsPerRequest: 1, events: SINGLE_EVENTS },
      {
        key: 'backlog',
        name: 'single events, backlog drained',
        eventsPerRequest: 1,
        events: BACKLOG_EVENTS,
        backlog: true,
      },
    ].filter((s) => SCENARIOS.includes(s.key));
    let round = 0;
    // Untimed rounds first: on a node the bench has just started, the first
    // scenario's rounds (and the raw loops after them) ran 2-3x slower than the
    // same loops a minute later (Cassandra's JIT warming up), which made the
    // first scenario's figures and its baseline both low.
    for (let i = 0; i < WARMUP_ROUNDS; i++, round++) {
      const warm = await e2eRound(stack, watch, keys, scenarios[0], round);
      const raw = await rawInsert(stack, scenarios[0].events, round);
      process.stderr.write(
        `warm-up round ${i + 1} (not counted): stored ${Math.round(warm.storedPerSec)}/s, raw ${Math.round(raw.rate)}/s\n`,
      );
    }
    for (const s of scenarios) {
      const e2e: RoundResult[] = [];
      const raw: RawRates[] = [];
      for (let i = 0; i < ROUNDS; i++, round++) {
        e2e.push(await e2eRound(stack, watch, keys, s, round));
        raw.push(await rawInsert(stack, s.events, round));
        const alt = `${stack.store === 'cassandra' ? 'raw batches' : 'raw sequential ids'} ${Math.round(raw[i].alt)}/s`;
        process.stderr.write(
          `${s.name} round ${i + 1}: stored ${Math.round(e2e[i].storedPerSec)}/s, acked ${Math.round(e2e[i].ackedPerSec)}/s, raw ${Math.round(raw[i].rate)}/s, ${alt}, lost ${e2e[i].lost}, jobs ${e2e[i].jobs}\n`,
        );
      }
      const stored = median(e2e.map((r) => r.storedPerSec));
      const ackedRate = median(e2e.map((r) => r.ackedPerSec));
      const rawRate = median(raw.map((r) => r.rate));
      // Each round's raw loop runs right after its e2e round, on the store in
      // the same state: the median of those paired ratios, beside the ratio of
      // the two medians (the raw loop's own rate swings 2-3x between rounds).
      const paired = median(e2e.map((r, k) => r.storedPerSec / raw[k].rate));
      const altRate = median(raw.map((r) => r.alt));
      const p50 = median(e2e.map((r) => r.p50));
      const p99 = median(e2e.map((r) => r.p99));
      const failed = e2e.reduce((n, r) => n + r.failed, 0);
      const lost = e2e.reduce((n, r) => n + r.lost, 0);
      const perJob = median(e2e.map((r) => (r.jobs > 0 ? s.events / r.jobs : 0)));
      const perWrite = median(e2e.map((r) => r.eventsPerWrite));
      lines.push(
        `| ${s.name} | ${s.events} | ${Math.round(stored)} | ${Math.round(ackedRate)} | ${Math.round(rawRate)} | ${(stored / rawRate).toFixed(2)} | ${paired.toFixed(2)} | ${Math.round(altRate)} | ${(stored / altRate).toFixed(2)} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${perJob.toFixed(1)} | ${perWrite.toFixed(1)} | ${failed} | ${lost} |`,
      );
      const kinds = [...new Set(e2e.flatMap((r) => Object.keys(r.cpuPerEvent)))];
      cpuRows.push({
        scenario: s.name,
        perEvent: Object.fromEntries(
          kinds.map((k) => [k, median(e2e.map((r) => r.cpuPerEvent[k] ?? 0))]),
        ),
        busy: median(e2e.map((r) => r.cpuBusy)),
      });
    }
  } finally {
    watch.close();
    await stack.stop();
  }
  process.stdout.write(
    [
      `split-ingest (${stack.store}): ${WARMUP_ROUNDS} warm-up and ${ROUNDS} counted rounds, ${CONNECTIONS} client connections through nginx for batches and ${SINGLE_CONNECTIONS} for single events, medians` +
        (Object.keys(workerEnv).length > 0 ? `, worker ${JSON.stringify(workerEnv)}` : ''),
      '',
      `| scenario | events/round | stored events/s (e2e) | acked events/s (edge) | ${stack.store === 'cassandra' ? 'raw INSERT events/s | e2e / raw | e2e / raw, median of the rounds | raw 100-row batches events/s | e2e / batches' : 'raw insertMany events/s (keen.id-form ids) | e2e / raw | e2e / raw, median of the rounds | raw insertMany, sequential ids | e2e / sequential'} | ingest p50 ms | ingest p99 ms | events per job | events per store write | failed requests | lost (acked, never stored) |`,
      `${'| --- '.repeat(15)}|`,
      ...lines,
      '',
      ...cpuTable(cpuRows),
    ].join('\n'),
  );
}

/**
 * CPU µs per stored event by kind of process (medians of the rounds), read
 * from /proc around each round: where a scenario's CPU goes when the two CPUs
 * are the bound. `client` is this process (autocannon); `busy` is every
 * process's CPU seconds per second of the round.
 */
function cpuTable(rows: { scenario: string; perEvent: Record<string, number>; busy: number }[]) {
  const order = ['client', 'nginx', 'ingest', 'redis', 'worker', 'mongo', 'cassandra', 'query'];
  const seen = new Set(rows.flatMap((r) => Object.keys(r.perEvent)));
  const kinds = [
    ...order.filter((k) => seen.has(k)),
    ...[...seen].filter((k) => !order.includes(k)),
  ];
  return [
    'CPU µs per stored event, by process (medians of the rounds; busy: CPU seconds per second)',
    '',
    `| scenario | ${kinds.join(' | ')} | total | busy |`,
    `${'| --- '.repeat(kinds.length + 3)}|`,
    ...rows.map((r) => {
      const total = kinds.reduce((n, k) => n + (r.perEvent[k] ?? 0), 0);
      const cells = kinds.map((k) => Math.round(r.perEvent[k] ?? 0));
      return `| ${r.scenario} | ${cells.join(' | ')} | ${Math.round(total)} | ${r.busy.toFixed(2)} |`;
    }),
    '',
  ];
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
