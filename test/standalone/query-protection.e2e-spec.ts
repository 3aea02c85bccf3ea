import { http } from '../support/http';
import { StandaloneServer } from '../support/standalone-server';

/**
 * Abuse must get a quick, clear 4xx/504 and leave the process healthy for
 * everyone else's queries.
 */
describe('standalone: query protection', () => {
  const server = new StandaloneServer(undefined, {
    QUERY_DEADLINE_MS: '150',
    QUERY_CONCURRENCY_PER_PROJECT: '1',
    QUERY_MAX_GROUPS: '500',
    QUERY_MAX_EXTRACTION_EVENTS: '1000',
  });
  const BIG = 60_000;
  let read: string;

  const q = (analysis: string, params: Record<string, unknown>) =>
    http('POST', `${server.url}/3.0/projects/default/queries/${analysis}`, { body: params, key: read });

  beforeAll(async () => {
    await server.start();
    read = server.keys!.read_key;
    const write = server.keys!.write_key;
    for (let offset = 0; offset < BIG; offset += 5000) {
      const events = Array.from({ length: 5000 }, (_, i) => ({
        n: offset + i,
        uid: `user-${offset + i}`,
        text: 'a'.repeat(40) + (i % 2 ? 'b' : '!'),
        keen: { timestamp: new Date(Date.UTC(2024, 0, 1) + (offset + i) * 1000).toISOString() },
      }));
      const res = await http('POST', `${server.url}/3.0/projects/default/events`, { body: { big: events }, key: write });
      expect(res.status).toBe(200);
    }
    const small = await http('POST', `${server.url}/3.0/projects/default/events`, {
      body: { small: [{ k: 1 }, { k: 2 }, { k: 3 }] },
      key: write,
    });
    expect(small.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  const healthy = async () => {
    expect((await q('count', { event_collection: 'small' })).body).toEqual({ result: 3 });
    expect((await http('GET', `${server.url}/healthz`)).status).toBe(200);
  };

  it('stops a query at its deadline with 504 and keeps answering others', async () => {
    // A pattern regex is one the columnar copy declines, so the TypeScript
    // engine reads the 60,000 events and meets the 150 ms deadline whatever
    // the copy has caught up with (the compiled path's own deadline is
    // libs/storage/src/duckdb/query-deadline.int-spec.ts).
    const started = Date.now();
    const res = await q('median', {
      event_collection: 'big',
      target_property: 'n',
      filters: [{ property_name: 'text', operator: 'regex', property_value: 'a+[b!]$' }],
    });
    expect(res.status).toBe(504);
    expect(res.body.error_code).toBe('QueryTimeoutError');
    expect(Date.now() - started).toBeLessThan(3000);
    await healthy();
  });

  it('refuses more concurrent queries than a project may run with 429 and Retry-After', async () => {
    // The first query must still be running when the second arrives: a
    // pattern regex is one the columnar copy declines (milliseconds there),
    // so the TypeScript engine reads the 60,000 events until the deadline.
    const [a, b] = await Promise.all([
      q('count', { event_collection: 'big', filters: [{ property_name: 'text', operator: 'regex', property_value: 'a+[b!]$' }] }),
      (async () => {
        await new Promise((r) => setTimeout(r, 20));
        return q('count', { event_collection: 'big' });
      })(),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toContain(429);
    const limited = a.status === 429 ? a : b;
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body.error_code).toBe('TooManyConcurrentQueriesError');
    await healthy();
  });

  it('caps group cardinality and synchronous extraction size with a 400 naming the limit', async () => {
    const groups = await q('count', { event_collection: 'big', group_by: 'uid', timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:20:00Z' } });
    expect(groups.status).toBe(400);
    expect(groups.body.message).toMatch(/500/);
    const extraction = await q('extraction', { event_collection: 'big', timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T01:00:00Z' } });
    expect(extraction.status).toBe(400);
    expect(extraction.body.message).toMatch(/1000/);
    await healthy();
  });

  it('streams an extraction of any size as NDJSON', async () => {
    const res = await fetch(`${server.url}/3.0/projects/default/queries/extraction/stream`, {
      method: 'POST',
      headers: { authorization: read, 'content-type': 'application/json' },
      body: JSON.stringify({ event_collection: 'big', timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T02:00:00Z' } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(7200);
    expect(lines.map((e) => e.n)).toEqual(Array.from({ length: 7200 }, (_, i) => i));
    const bad = await http('POST', `${server.url}/3.0/projects/default/queries/extraction/stream`, {
      body: { event_collection: 'big', timeframe: 'this_3_eons' },
      key: read,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/timeframe/);
  });

  it('runs a catastrophic-looking regex in linear time', async () => {
    const started = Date.now();
    const res = await q('count', {
      event_collection: 'big',
      timeframe: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:10:00Z' },
      filters: [{ property_name: 'text', operator: 'regex', property_value: '^(a+)+$' }],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ result: 0 });
    expect(Date.now() - started).toBeLessThan(2000);
    const tooLong = await q('count', {
      event_collection: 'small',
      filters: [{ property_name: 'k', operator: 'regex', property_value: 'x'.repeat(10_000) }],
    });
    expect(tooLong.status).toBe(400);
  });

  it('answers malformed filters and timeframes with a 400 naming the parameter', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ event_collection: 'small', filters: [{ property_name: 'k', operator: 'like', property_value: 1 }] }, /filters/],
      [{ event_collection: 'small', filters: 'not json' }, /filters/],
      [{ event_collection: 'small', timeframe: { start: 'yesterday-ish' } }, /timeframe/],
      [{ event_collection: 'small', timezone: 'Mars/Olympus' }, /timezone/],
      [{ event_collection: 'small', interval: 'every_0_days', timeframe: 'this_2_days' }, /interval/],
      [{}, /event_collection/],
    ];
    for (const [params, named] of cases) {
      const res = await q('count', params);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(named);
    }
    const get = await http('GET', `${server.url}/3.0/projects/default/queries/count?api_key=${read}&event_collection=small&filters=%5B%7B`);
    expect(get.status).toBe(400);
    expect(get.body.message).toMatch(/filters/);
    await healthy();
  });

  it('reuses a result within max_age and reports execution metadata', async () => {
    const first = await q('count', { event_collection: 'small', max_age: 300, include_metadata: true });
    expect(first.body.result).toBe(3);
    expect(first.body.execution_metadata.events_scanned).toBe(3);
    await http('POST', `${server.url}/3.0/projects/default/events/small`, { body: { k: 4 }, key: server.keys!.write_key });
    const cached = await q('count', { event_collection: 'small', max_age: 300, include_metadata: true });
    expect(cached.body.result).toBe(3);
    const fresh = await q('count', { event_collection: 'small' });
    expect(fresh.body.result).toBe(4);
  });
});
