/**
 * /metrics in the split deployment, read from each process on its own port
 * (the public listener answers 404 for it). Known traffic to one ingest
 * process, then one Redis shard hung (SIGSTOP) while writes go on: that
 * shard's breaker gauge goes to 1 and only its own, writes keep being
 * acknowledged through the other shard, a scrape still answers (the hung
 * shard is not asked), and after SIGCONT the gauge returns to 0. The
 * accepted-events counter equals what the client saw acknowledged, and the
 * worker's inserted-events counter equals what the store holds. Runs on
 * either event store.
 */
import { http } from '../support/http';
import { Scrape, scrape } from '../support/prometheus';
import {
  compareStored,
  EventStream,
  ProjectKeys,
  SplitStack,
  STACK_START_TIMEOUT_MS,
  waitFor,
} from '../support/split-stack';

jest.setTimeout(180_000);

const SINGLE = '/3.0/projects/:projectId/events/:collection';
const BATCH = '/3.0/projects/:projectId/events';
const QUERY = '/3.0/projects/:projectId/queries/:analysis';

function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) {
  return after.value(name, labels) - before.value(name, labels);
}

describe('split deployment: metrics of the ingest, query and worker processes', () => {
  let stack: SplitStack;
  let keys: ProjectKeys;
  let ingestUrl: string;

  beforeAll(async () => {
    stack = await SplitStack.start();
    keys = await stack.createProject('metrics');
    ingestUrl = `http://127.0.0.1:${stack.ports.ingest[0]}`;
  }, STACK_START_TIMEOUT_MS);

  afterAll(async () => {
    // A failed run must not leave a stopped Redis behind for stackDown.
    stack?.signal('redis-2', 'SIGCONT');
    await stack?.stop();
  });

  /** One scrape of ingest-1, bounded: a scrape that hangs fails the spec. */
  const scrapeIngest = async () =>
    (
      await Promise.race([
        scrape(`${ingestUrl}/metrics`),
        new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new Error('/metrics of ingest-1 did not answer in 10 s')),
            10_000,
          ),
        ),
      ])
    ).scrape;

  const breaker = (s: Scrape, shard: number) =>
    s.value('tally_queue_shard_breaker_state', { shard: String(shard) });

  it('is not served on the public listener', async () => {
    const res = await http('GET', `${stack.baseUrl}/metrics`);
    expect([res.status, res.body]).toEqual([
      404,
      { message: 'Not found.', error_code: 'ResourceNotFoundError' },
    ]);
  });

  it('counts writes on the ingest process, follows a hung shard with the breaker gauge, and accepts exactly what was acknowledged', async () => {
    const before = await scrapeIngest();
    expect([breaker(before, 0), breaker(before, 1)]).toEqual([0, 0]);
    expect(before.labelValues('tally_queue_shard_breaker_state', 'shard')).toEqual(['0', '1']);

    // Known traffic straight to ingest-1: 10 single events, a batch with 2
    // rejected events of 5, one write without a key.
    const stream = new EventStream({
      baseUrl: ingestUrl,
      projectId: keys.id,
      writeKey: keys.write_key,
      collection: 'metered',
      runId: 'metrics',
      concurrency: 2,
      pauseMs: 20,
    });
    for (let i = 0; i < 10; i++) expect((await stream.sendOne()).status).toBe(201);
    const batch = await http('POST', `${ingestUrl}/3.0/projects/${keys.id}/events`, {
      key: keys.write_key,
      body: { metered_batch: [{ a: 1 }, { 'bad.name': 1 }, { a: 2 }, 7, { a: 3 }] },
    });
    expect(batch.status).toBe(200);
    const noKey = await http('POST', `${ingestUrl}/3.0/projects/${keys.id}/events/metered`, {
      body: { a: 1 },
    });
    expect(noKey.status).toBe(401);

    const known = await scrapeIngest();
    expect({
      single201: delta(before, known, 'tally_http_requests_total', {
        pool: 'ingest',
        route: SINGLE,
        method: 'POST',
        status: '201',
      }),
      single401: delta(before, known, 'tally_http_requests_total', {
        pool: 'ingest',
        route: SINGLE,
        method: 'POST',
        status: '401',
      }),
      batch200: delta(before, known, 'tally_http_requests_total', {
        pool: 'ingest',
        route: BATCH,
        method: 'POST',
        status: '200',
      }),
      accepted: delta(before, known, 'tally_ingest_events_accepted_total'),
      rejected: delta(before, known, 'tally_ingest_events_rejected_total'),
      acks: delta(before, known, 'tally_ingest_ack_seconds_count', { outcome: 'acked' }),
      redisCommitted: delta(before, known, 'tally_group_commit_events_sum', { queue: 'redis' }),
      failures: delta(before, known, 'tally_queue_shard_enqueue_failures_total'),
    }).toEqual({
      single201: 10,
      single401: 1,
      batch200: 1,
      accepted: 13,
      rejected: 2,
      acks: 11,
      redisCommitted: 13,
      failures: 0,
    });

    // Both shards healthy: their backlog is read at scrape time (a number, not NaN).
    const backlog = [0, 1].map((shard) => [
      known.value('tally_queue_shard_waiting_jobs', { shard: String(shard) }),
      known.value('tally_queue_shard_oldest_waiting_seconds', { shard: String(shard) }),
    ]);
    process.stdout.write(`metrics split: backlog before the hang ${JSON.stringify(backlog)}\n`);
    expect(backlog.flat().every((v) => Number.isFinite(v) && v >= 0)).toBe(true);

    // Hang shard 2 (index 1) and keep writing until its breaker is open.
    stream.start();
    stack.signal('redis-2', 'SIGSTOP');
    const hungAt = Date.now();
    let duringHang: Scrape | null = null;
    await waitFor(
      async () => {
        const s = await scrapeIngest();
        if (breaker(s, 1) === 1) duringHang = s;
        return duringHang;
      },
      30_000,
      250,
    );
    const ackedSinceHang = () =>
      stream.requests.filter((r) => r.startedAt >= hungAt && r.status === 201).length;
    // Writes still succeed, on the other shard.
    const ackedBeforeOpen = ackedSinceHang();
    await waitFor(async () => ackedSinceHang() >= ackedBeforeOpen + 10, 20_000, 100);
    const hung = await scrapeIngest();
    stack.signal('redis-2', 'SIGCONT');

    expect(duringHang).not.toBeNull();
    expect(breaker(duringHang!, 0)).toBe(0);
    // Not asked while its breaker is not closed: unknown, not a stale number.
    expect(duringHang!.value('tally_queue_shard_waiting_jobs', { shard: '1' })).toBeNaN();
    expect(ackedSinceHang()).toBeGreaterThanOrEqual(ackedBeforeOpen + 10);
    expect(
      delta(known, hung, 'tally_queue_shard_enqueued_jobs_total', { shard: '0' }),
    ).toBeGreaterThanOrEqual(10);
    expect(
      delta(known, hung, 'tally_queue_shard_enqueue_failures_total', { shard: '1' }),
    ).toBeGreaterThanOrEqual(1);
    expect(delta(known, hung, 'tally_queue_shard_enqueue_failures_total', { shard: '0' })).toBe(0);

    // Resumed: the next write routed to it after the cool-down closes the breaker.
    const closed = await waitFor(async () => breaker(await scrapeIngest(), 1) === 0, 60_000, 250);
    await stream.stop();
    expect(closed).toBe(true);

    const after = await scrapeIngest();
    expect([breaker(after, 0), breaker(after, 1)]).toEqual([0, 0]);
    const singles = stream.requests;
    const status = (code: number) => singles.filter((r) => r.status === code).length;
    expect(singles.every((r) => r.status === 201 || r.status === 503)).toBe(true);
    expect({
      accepted: delta(before, after, 'tally_ingest_events_accepted_total'),
      single201: delta(before, after, 'tally_http_requests_total', {
        pool: 'ingest',
        route: SINGLE,
        method: 'POST',
        status: '201',
      }),
      single503: delta(before, after, 'tally_http_requests_total', {
        pool: 'ingest',
        route: SINGLE,
        method: 'POST',
        status: '503',
      }),
      refused: delta(before, after, 'tally_ingest_ack_seconds_count', { outcome: 'refused' }),
    }).toEqual({
      // The stream's single events plus the batch's three good ones.
      accepted: stream.acknowledged().length + 3,
      single201: status(201),
      single503: status(503),
      refused: status(503),
    });
    process.stdout.write(
      `metrics split: ${stream.summary()} failures shard 1: ${delta(before, after, 'tally_queue_shard_enqueue_failures_total', { shard: '1' })}\n`,
    );

    // Every acknowledged event is stored once; the worker's inserted-events
    // counter equals what the store holds for the project (the warm-up writes
    // included), whatever was delivered twice around the hang.
    const docs = await stack.waitForMarkers(keys.id, 'metered', stream.acknowledged(), 60_000);
    expect(compareStored(docs, stream.acknowledged(), stream.sent())).toEqual({
      missing: [],
      duplicated: [],
      unknown: [],
    });
    const workerUrl = `http://127.0.0.1:${stack.ports.worker[0]}/metrics`;
    const stored = await waitFor(
      async () => {
        const total = await stack.storedCount(keys.id);
        const inserted = (await scrape(workerUrl)).scrape.value('tally_worker_events_total', {
          result: 'inserted',
        });
        return inserted === total ? total : 0;
      },
      30_000,
      500,
    );
    const worker = (await scrape(workerUrl)).scrape;
    expect(worker.value('tally_worker_events_total', { result: 'inserted' })).toBe(
      await stack.storedCount(keys.id),
    );
    expect(stored).toBeGreaterThan(0);
    expect(worker.value('tally_worker_jobs_total', { outcome: 'stored' })).toBeGreaterThan(0);
    expect(worker.value('tally_worker_lag_seconds_count')).toBe(
      worker.value('tally_worker_jobs_total', { outcome: 'stored' }),
    );
    expect(worker.matching('process_cpu_user_seconds_total')).toHaveLength(1);
  });

  it('counts a query on the query process by analysis', async () => {
    const queryUrl = `http://127.0.0.1:${stack.ports.query[0]}`;
    const before = (await scrape(`${queryUrl}/metrics`)).scrape;
    const res = await http(
      'GET',
      `${queryUrl}/3.0/projects/${keys.id}/queries/count?event_collection=metered&timeframe=this_1_days`,
      { key: keys.read_key },
    );
    expect(res.status).toBe(200);
    const after = (await scrape(`${queryUrl}/metrics`)).scrape;
    expect({
      requests: delta(before, after, 'tally_http_requests_total', {
        pool: 'query',
        route: QUERY,
        method: 'GET',
        status: '200',
      }),
      counts: delta(before, after, 'tally_query_duration_seconds_count', { analysis: 'count' }),
      errors: delta(before, after, 'tally_query_errors_total'),
    }).toEqual({ requests: 1, counts: 1, errors: 0 });
  });
});
