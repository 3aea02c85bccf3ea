/**
 * /metrics of the standalone server: known traffic in, exact counter deltas
 * out. Every counter and histogram this traffic touches is read before and
 * after (the server's own warm-up, the scrapes themselves and anything else
 * fall outside the compared labels), and the exposition holds no key and no
 * project id.
 */
import { http } from '../support/http';
import { parsePrometheus, Scrape, scrape } from '../support/prometheus';
import { StandaloneServer } from '../support/standalone-server';

const SINGLE = '/3.0/projects/:projectId/events/:collection';
const BATCH = '/3.0/projects/:projectId/events';
const QUERY = '/3.0/projects/:projectId/queries/:analysis';
const POOL = 'standalone';

/** After minus before, for one series (or the sum of the series matching `labels`). */
function delta(
  before: Scrape,
  after: Scrape,
  name: string,
  labels: Record<string, string> = {},
): number {
  return after.value(name, labels) - before.value(name, labels);
}

describe('standalone: /metrics', () => {
  const server = new StandaloneServer();

  beforeAll(async () => {
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('serves the Prometheus text format, unauthenticated, outside the OpenAPI document', async () => {
    const first = await scrape(`${server.url}/metrics`);
    expect(first.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Process metrics registered once, and every Tally metric with its help text.
    expect(first.text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
    const tally = [...first.scrape.types.keys()].filter((n) => n.startsWith('tally_')).sort();
    expect(tally).toEqual([
      'tally_delete_jobs_total',
      'tally_group_commit_events',
      'tally_http_request_duration_seconds',
      'tally_http_requests_total',
      'tally_ingest_ack_seconds',
      'tally_ingest_events_accepted_total',
      'tally_ingest_events_rejected_total',
      'tally_ingest_rate_limit_fallbacks_total',
      'tally_ingest_requests_rate_limited_total',
      'tally_key_cache_age_seconds',
      'tally_query_duration_seconds',
      'tally_query_email_extractions_total',
      'tally_query_email_send_failures_total',
      'tally_query_errors_total',
      'tally_query_events_scanned_total',
      'tally_query_path_total',
      'tally_queue_shard_breaker_state',
      'tally_queue_shard_enqueue_failures_total',
      'tally_queue_shard_enqueued_jobs_total',
      'tally_queue_shard_oldest_waiting_seconds',
      'tally_queue_shard_waiting_jobs',
      'tally_thread_cpu_seconds',
      'tally_worker_dead_lettered_events_total',
      'tally_worker_events_total',
      'tally_worker_jobs_total',
      'tally_worker_lag_seconds',
      'tally_worker_retries_total',
      'tally_worker_store_write_seconds',
      'tally_worker_write_events',
    ]);
    for (const name of tally)
      expect([name, first.scrape.help.get(name)?.length ?? 0]).not.toEqual([name, 0]);
    // The key cache loaded at start and reloads every KEY_CACHE_REFRESH_MS.
    const age = first.scrape.value('tally_key_cache_age_seconds');
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    // No queue shards in standalone: their gauges have no series.
    expect(first.scrape.matching('tally_queue_shard_breaker_state')).toEqual([]);

    const doc = await http('GET', `${server.url}/openapi.json`);
    expect(Object.keys(doc.body.paths).filter((p) => p.includes('metrics'))).toEqual([]);
  });

  it('counts requests by route template and status, events accepted and rejected, and queries by analysis', async () => {
    const keys = server.keys!;
    const project = (rest: string) => `${server.url}/3.0/projects/${keys.id}${rest}`;
    const { scrape: before } = await scrape(`${server.url}/metrics`);

    const N = 5;
    for (let i = 0; i < N; i++) {
      const res = await http('POST', project('/events/clicks'), {
        key: keys.write_key,
        body: { i },
      });
      expect(res.status).toBe(201);
    }
    // A batch of 5: 3 good events, 2 rejected for two different reasons.
    const batch = await http('POST', project('/events'), {
      key: keys.write_key,
      body: { clicks: [{ i: 10 }, { 'bad.name': 1 }, { i: 11 }], views: [5, { page: '/' }] },
    });
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual({
      clicks: [
        { success: true },
        {
          success: false,
          error: { name: 'InvalidPropertyNameError', description: expect.any(String) },
        },
        { success: true },
      ],
      views: [
        { success: false, error: { name: 'InvalidEventError', description: expect.any(String) } },
        { success: true },
      ],
    });
    const accepted = N + 3;

    // M = 5 queries of two analyses: 3 counts and 2 sums over what was just written.
    // The counts are answered by the columnar copy; the sums carry a regex the
    // copy declines, so the TypeScript engine scans the store for them. Only
    // store scans count in tally_query_events_scanned_total.
    const scanned: Record<string, number> = { count: 0, sum: 0 };
    const paths: Record<string, string[]> = { count: [], sum: [] };
    const runQuery = async (analysis: string, extra: string, expected: number) => {
      const res = await http(
        'GET',
        project(
          `/queries/${analysis}?event_collection=clicks&timeframe=this_1_days&include_metadata=true${extra}`,
        ),
        { key: keys.read_key },
      );
      expect([res.status, res.body.result]).toEqual([200, expected]);
      const { query_path: path, events_scanned: events } = res.body.execution_metadata;
      expect(path).toBe(res.headers.get('x-tally-query-path'));
      paths[analysis].push(path);
      if (path === 'reference') scanned[analysis] += events;
    };
    for (let i = 0; i < 3; i++) await runQuery('count', '', N + 2);
    const anyI = encodeURIComponent(
      JSON.stringify([
        {
          operator: 'or',
          operands: [
            { property_name: 'i', operator: 'exists', property_value: true },
            { property_name: 'i', operator: 'regex', property_value: '^x+$' },
          ],
        },
      ]),
    );
    for (let i = 0; i < 2; i++)
      await runQuery('sum', `&target_property=i&filters=${anyI}`, 0 + 1 + 2 + 3 + 4 + 10 + 11);
    expect(paths).toEqual({
      count: ['compiled', 'compiled', 'compiled'],
      sum: ['reference', 'reference'],
    });

    // One write without a key: 401 before any event is read.
    const noKey = await http('POST', project('/events/clicks'), { body: { i: 99 } });
    expect(noKey.status).toBe(401);

    const { scrape: after, text } = await scrape(`${server.url}/metrics`);
    const req = (route: string, method: string, status: number) =>
      delta(before, after, 'tally_http_requests_total', {
        pool: POOL,
        route,
        method,
        status: String(status),
      });

    expect({
      single201: req(SINGLE, 'POST', 201),
      single401: req(SINGLE, 'POST', 401),
      batch200: req(BATCH, 'POST', 200),
      query200: req(QUERY, 'GET', 200),
      singleDurations: delta(before, after, 'tally_http_request_duration_seconds_count', {
        pool: POOL,
        route: SINGLE,
        method: 'POST',
      }),
      queryDurations: delta(before, after, 'tally_http_request_duration_seconds_count', {
        pool: POOL,
        route: QUERY,
        method: 'GET',
      }),
      accepted: delta(before, after, 'tally_ingest_events_accepted_total'),
      rejected: delta(before, after, 'tally_ingest_events_rejected_total'),
      rejectedName: delta(before, after, 'tally_ingest_events_rejected_total', {
        reason: 'InvalidPropertyNameError',
      }),
      rejectedEvent: delta(before, after, 'tally_ingest_events_rejected_total', {
        reason: 'InvalidEventError',
      }),
      acks: delta(before, after, 'tally_ingest_ack_seconds_count', { outcome: 'acked' }),
      refusedAcks: delta(before, after, 'tally_ingest_ack_seconds_count', { outcome: 'refused' }),
      // Inline group commits carry every accepted event, each once.
      committedEvents: delta(before, after, 'tally_group_commit_events_sum', { queue: 'inline' }),
      countQueries: delta(before, after, 'tally_query_duration_seconds_count', {
        analysis: 'count',
      }),
      sumQueries: delta(before, after, 'tally_query_duration_seconds_count', { analysis: 'sum' }),
      allQueries: delta(before, after, 'tally_query_duration_seconds_count'),
      countScanned: delta(before, after, 'tally_query_events_scanned_total', { analysis: 'count' }),
      sumScanned: delta(before, after, 'tally_query_events_scanned_total', { analysis: 'sum' }),
      queryErrors: delta(before, after, 'tally_query_errors_total'),
    }).toEqual({
      single201: N,
      single401: 1,
      batch200: 1,
      query200: 5,
      singleDurations: N + 1,
      queryDurations: 5,
      accepted,
      rejected: 2,
      rejectedName: 1,
      rejectedEvent: 1,
      acks: N + 1,
      refusedAcks: 0,
      committedEvents: accepted,
      countQueries: 3,
      sumQueries: 2,
      allQueries: 5,
      countScanned: scanned.count,
      sumScanned: scanned.sum,
      queryErrors: 0,
    });
    expect(scanned.sum).toBeGreaterThan(0);
    // Each histogram's +Inf bucket holds every observation.
    expect(
      delta(before, after, 'tally_query_duration_seconds_bucket', {
        analysis: 'count',
        le: '+Inf',
      }),
    ).toBe(3);
    expect(
      delta(before, after, 'tally_ingest_ack_seconds_bucket', { outcome: 'acked', le: '+Inf' }),
    ).toBe(N + 1);
    // Inline commits: at least one, at most one per acknowledged write.
    const commits = delta(before, after, 'tally_group_commit_events_count', { queue: 'inline' });
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(N + 1);

    // Labels come from fixed sets: no key, no project id, no raw URL.
    for (const secret of [
      keys.write_key,
      keys.read_key,
      keys.master_key,
      `/projects/${keys.id}/`,
    ]) {
      expect(text.includes(secret)).toBe(false);
    }
    expect(
      after
        .labelValues('tally_http_requests_total', 'route')
        .filter((r) => !r.startsWith('/') && r !== '*' && r !== 'unmatched'),
    ).toEqual([]);
  });

  it('reports the CPU time of its HTTP, SQLite writer and columnar threads, each growing with its own work', async () => {
    const keys = server.keys!;
    const project = (rest: string) => `${server.url}/3.0/projects/${keys.id}${rest}`;
    const threads = (s: Scrape) => ({
      main: s.value('tally_thread_cpu_seconds', { thread: 'main' }),
      writer: s.value('tally_thread_cpu_seconds', { thread: 'sqlite_writer' }),
      columnar: s.value('tally_thread_cpu_seconds', { thread: 'columnar' }),
      process: s.value('process_cpu_seconds_total'),
    });
    const { scrape: before } = await scrape(`${server.url}/metrics`);
    expect(before.labelValues('tally_thread_cpu_seconds', 'thread').sort()).toEqual([
      'columnar',
      'main',
      'sqlite_writer',
    ]);
    // 20,000 events: parsed on the HTTP thread, committed by the writer, copied by the columnar thread.
    const batches = 200;
    for (let b = 0; b < batches; b++) {
      const events = Array.from({ length: 100 }, (_, i) => ({
        n: b * 100 + i,
        user: { id: `u${i % 7}`, tags: ['a', 'b'] },
      }));
      const res = await http('POST', project('/events'), {
        key: keys.write_key,
        body: { threads: events },
      });
      expect(res.status).toBe(200);
    }
    // A compiled count first brings the columnar copy up to date.
    const count = await http(
      'GET',
      project('/queries/count?event_collection=threads&timeframe=this_1_days'),
      { key: keys.read_key },
    );
    expect([count.status, count.body.result]).toEqual([200, batches * 100]);
    const { scrape: after } = await scrape(`${server.url}/metrics`);
    const [b, a] = [threads(before), threads(after)];
    // /proc counts in 10 ms ticks; each thread did far more than one tick of work.
    expect(a.main - b.main).toBeGreaterThanOrEqual(0.02);
    expect(a.writer - b.writer).toBeGreaterThanOrEqual(0.02);
    expect(a.columnar - b.columnar).toBeGreaterThanOrEqual(0.02);
    // They are threads of this process: together no more than its whole CPU time.
    expect(a.main - b.main + (a.writer - b.writer) + (a.columnar - b.columnar)).toBeLessThanOrEqual(
      a.process - b.process + 0.03,
    );
  });

  it('labels an unknown analysis as unknown and counts its error by code', async () => {
    const keys = server.keys!;
    const { scrape: before } = await scrape(`${server.url}/metrics`);
    const res = await http(
      'GET',
      `${server.url}/3.0/projects/${keys.id}/queries/not_an_analysis?event_collection=clicks`,
      { key: keys.read_key },
    );
    expect(res.status).toBe(404);
    const { scrape: after } = await scrape(`${server.url}/metrics`);
    expect({
      errors: delta(before, after, 'tally_query_errors_total', {
        analysis: 'unknown',
        code: res.body.error_code,
      }),
      unknownDurations: delta(before, after, 'tally_query_duration_seconds_count', {
        analysis: 'unknown',
      }),
      status404: delta(before, after, 'tally_http_requests_total', {
        pool: POOL,
        route: QUERY,
        method: 'GET',
        status: '404',
      }),
    }).toEqual({ errors: 1, unknownDurations: 1, status404: 1 });
    expect(after.labelValues('tally_query_errors_total', 'analysis')).toEqual(['unknown']);
  });

  it('parses what it reads', () => {
    // prom-client writes NaN as `Nan`; Prometheus reads both.
    const parsed = parsePrometheus(
      '# TYPE a counter\na{x="1",y="q\\"z"} 3\nb NaN\nc Nan\nd{le="+Inf"} +Inf\n',
    );
    expect(parsed.samples).toEqual([
      { name: 'a', labels: { x: '1', y: 'q"z' }, value: 3 },
      { name: 'b', labels: {}, value: NaN },
      { name: 'c', labels: {}, value: NaN },
      { name: 'd', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });
});
