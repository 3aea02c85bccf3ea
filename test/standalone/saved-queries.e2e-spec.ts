/**
 * Saved and cached queries on the standalone server, through Keen's own
 * clients (PyPI keen 0.7.0 and keen-analysis) and raw HTTP: results equal the
 * same ad-hoc query, a cached query is served from its stored answer with no
 * event read (the answer says so and tally_query_events_scanned_total does
 * not move), and `tally saved-queries refresh` brings new events in.
 */
import { spawn } from 'node:child_process';
import { declaredSizeRequest, http } from '../support/http';
import { keenClients } from '../support/keen-clients';
import { scrape } from '../support/prometheus';
import { CLI_MAIN, StandaloneServer } from '../support/standalone-server';
import { ensureKeenClient, runKeenScript } from '../support/python-keen';

jest.setTimeout(120_000);

const COLLECTION = 'sq_purchases';
const TIMEFRAME = { start: '2024-06-01T00:00:00.000Z', end: '2024-06-03T00:00:00.000Z' };
const SCANNED = 'tally_query_events_scanned_total';

const events = Array.from({ length: 12 }, (_, i) => ({
  amount: i + 1,
  kind: i % 3 === 0 ? 'a' : 'b',
  keen: { timestamp: new Date(Date.UTC(2024, 5, 1) + i * 3 * 3600_000).toISOString() },
}));

async function waitFor<T>(probe: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('standalone: saved and cached queries', () => {
  const server = new StandaloneServer(undefined, {
    SAVED_QUERY_REFRESH_CHECK_MS: '300',
    SAVED_QUERIES_MAX_PER_PROJECT: '5',
  });
  const url = (rest: string) => `${server.url}/3.0/projects/default${rest}`;
  const master = () => server.keys!.master_key;
  const python = (step: string) =>
    runKeenScript(
      'keen_saved_queries.py',
      {
        TALLY_URL: server.url,
        TALLY_PROJECT: 'default',
        TALLY_READ_KEY: server.keys!.read_key,
        TALLY_MASTER_KEY: server.keys!.master_key,
        TALLY_COLLECTION: COLLECTION,
      },
      [step],
    );
  const adhocCount = async () =>
    (
      await http('POST', url('/queries/count'), {
        key: server.keys!.read_key,
        body: { event_collection: COLLECTION, timeframe: TIMEFRAME },
      })
    ).body.result as number;
  const write = async (batch: object[]) => {
    const res = await http('POST', url('/events'), {
      key: server.keys!.write_key,
      body: { [COLLECTION]: batch },
    });
    expect(res.status).toBe(200);
  };
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        LOG_LEVEL: 'warn',
        DATA_DIR: server.dataDir,
      };
      delete env.STORE;
      delete env.TALLY_STACK_FILE;
      const child = spawn(process.execPath, [CLI_MAIN, ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  beforeAll(async () => {
    ensureKeenClient();
    await server.start();
    await write(events);
    await waitFor(async () => ((await adhocCount()) === 12 ? true : null));
  }, 60_000);

  afterAll(async () => {
    await server.stop();
    server.remove();
  });

  it('creates, lists, gets, answers, updates and deletes through the Python client', () => {
    const out = python('plain');
    const kindA = events.filter((e) => e.kind === 'a');
    expect(out.created).toMatchObject({
      query_name: 'py-plain',
      refresh_rate: 0,
      run_information: null,
      metadata: { display_name: 'Kind A', visualization: { chart_type: 'metric' } },
      query: {
        analysis_type: 'count',
        event_collection: COLLECTION,
        timeframe: TIMEFRAME,
        filters: [{ property_name: 'kind', operator: 'eq', property_value: 'a' }],
      },
      urls: {
        cached_query_url: '/3.0/projects/default/queries/saved/py-plain',
        cached_query_results_url: '/3.0/projects/default/queries/saved/py-plain/result',
      },
    });
    expect(out.created.created_date).toBe(out.created.last_modified_date);
    expect(out.all).toEqual([out.got]);
    expect(out.got).toEqual(out.created);
    expect([out.results.result, out.adhoc]).toEqual([kindA.length, kindA.length]);
    expect(out.results.run_information).toMatchObject({
      served_from: 'live',
      live_reason: 'saved_query',
    });

    // update(): only filters and the display name changed; the rest kept.
    expect(out.updated.query).toEqual({
      analysis_type: 'count',
      event_collection: COLLECTION,
      timeframe: TIMEFRAME,
      filters: [],
    });
    expect(out.updated.metadata).toEqual({
      display_name: 'All kinds',
      visualization: { chart_type: 'metric' },
    });
    expect(out.updated.created_date).toBe(out.created.created_date);
    expect([out.updated_results.result, out.adhoc_all]).toEqual([12, 12]);

    // update_full(): what is left out is gone.
    expect([out.update_full.query.analysis_type, out.update_full.metadata]).toEqual(['sum', {}]);
    const sum = events.reduce((n, e) => n + e.amount, 0);
    expect([out.full_results.result, out.adhoc_sum]).toEqual([sum, sum]);

    expect(out.deleted).toBe(true);
    expect(out.after_delete).toMatch(/ResourceNotFoundError/);
    expect(out.bad).toMatch(/event_collection is required[\s\S]*InvalidParameterError/);
  });

  it('serves a cached query from its stored answer without reading events, and refreshes it on demand', async () => {
    const created = python('cached-create').created;
    expect([created.refresh_rate, created.run_information.computed_at]).toEqual([14_400, null]);

    // The first computation comes with the next refresh check (300 ms here).
    const first = await waitFor(async () => {
      const res = await http('GET', url('/queries/saved/py-cached/result'), {
        key: server.keys!.read_key,
      });
      return res.body.run_information?.served_from === 'cache' ? res.body : null;
    });
    expect(first.result).toBe(12);

    const viaPython = python('cached-result');
    expect(viaPython.adhoc).toBe(12);
    // No event is read for a cached answer: the scan counter stays where it was.
    const before = (await scrape(`${server.url}/metrics`)).scrape.value(SCANNED);
    const again = await http('GET', url('/queries/saved/py-cached/result'), { key: master() });
    const after = (await scrape(`${server.url}/metrics`)).scrape.value(SCANNED);
    expect(after - before).toBe(0);
    expect(viaPython.results).toMatchObject({
      query_name: 'py-cached',
      result: 12,
      run_information: {
        served_from: 'cache',
        events_scanned: 0,
        computed_at: first.run_information.computed_at,
      },
    });
    expect(Date.parse(viaPython.results.run_information.next_refresh_at)).toBe(
      Date.parse(first.run_information.computed_at) + 14_400_000,
    );
    expect(again.body.result).toBe(12);

    // New events: the stored answer stays until a refresh.
    await write(events.slice(0, 3).map((e) => ({ ...e, amount: 100 })));
    await waitFor(async () => ((await adhocCount()) === 15 ? true : null));
    expect(python('cached-result').results.result).toBe(12);

    const refreshed = await cli(
      'saved-queries',
      'refresh',
      'default',
      'py-cached',
      '--wait',
      '30',
      '--json',
    );
    expect({ code: refreshed.code, stderr: refreshed.stderr }).toEqual({ code: 0, stderr: '' });
    const view = JSON.parse(refreshed.stdout);
    expect(Date.parse(view.run_information.computed_at)).toBeGreaterThan(
      Date.parse(first.run_information.computed_at),
    );
    const now = python('cached-result');
    expect([now.results.result, now.adhoc]).toEqual([15, 15]);
    expect(now.results.run_information).toMatchObject({
      served_from: 'cache',
      computed_at: view.run_information.computed_at,
    });
    const listed = await cli('saved-queries', 'list', 'default', '--json');
    expect(JSON.parse(listed.stdout).map((q: any) => [q.query_name, q.refresh_rate])).toEqual([
      ['py-cached', 14_400],
    ]);
  });

  it('answers a saved query through keen-analysis (client.put/get/del with client.url)', async () => {
    const clients = keenClients(server);
    try {
      const client = clients.analysis;
      const resource = client.url('queries', 'saved', 'js-sum');
      const created = await client
        .put(resource)
        .auth(master())
        .send({
          query: {
            analysis_type: 'sum',
            event_collection: COLLECTION,
            target_property: 'amount',
            timeframe: TIMEFRAME,
          },
          refresh_rate: 0,
          metadata: { display_name: 'JS sum' },
        });
      expect([created.query_name, created.query.target_property]).toEqual(['js-sum', 'amount']);
      const result = await client
        .get(client.url('queries', 'saved', 'js-sum', 'result'))
        .auth(server.keys!.read_key)
        .send();
      const adhoc = await client.query('sum', {
        event_collection: COLLECTION,
        target_property: 'amount',
        timeframe: TIMEFRAME,
      });
      expect(result.result).toBe(adhoc.result);
      expect(result.result).toBe(events.reduce((n, e) => n + e.amount, 0) + 300);
      await client.del(resource).auth(master()).send();
      expect((await http('GET', url('/queries/saved/js-sum'), { key: master() })).status).toBe(404);
    } finally {
      clients.restore();
    }
  });

  it('answers PUT 201 then 200, and refuses bad input with Keen-shaped errors, never a 5xx', async () => {
    const put = (name: string, body: unknown, key = master()) =>
      http('PUT', url(`/queries/saved/${name}`), { key, body });
    const raw = (name: string, text: string) =>
      http('PUT', url(`/queries/saved/${name}`), {
        key: master(),
        raw: text,
        headers: { 'content-type': 'application/json' },
      });
    const ok = { query: { analysis_type: 'count', event_collection: COLLECTION } };
    expect((await put('http-q', ok)).status).toBe(201);
    const replaced = await put('http-q', { ...ok, query_name: 'http-q', metadata: { n: 1 } });
    expect([replaced.status, replaced.body.metadata]).toEqual([200, { n: 1 }]);

    const cases: [Promise<{ status: number; body: any }>, number, string][] = [
      [raw('bad-json', '{"query": '), 400, 'InvalidJsonError'],
      [
        raw(
          'proto',
          '{"query":{"analysis_type":"count","event_collection":"x"},"metadata":{"__proto__":{"admin":true}}}',
        ),
        400,
        'InvalidPropertyNameError',
      ],
      [
        raw('proto2', '{"query":{"__proto__":{"analysis_type":"count"}}}'),
        400,
        'InvalidPropertyNameError',
      ],
      [put('wrong-type', { query: 'count' }), 400, 'InvalidSavedQueryError'],
      [
        put('unknown', { query: { analysis_type: 'nope', event_collection: 'x' } }),
        400,
        'InvalidSavedQueryError',
      ],
      [put('rate', { ...ok, refresh_rate: 60 }), 400, 'InvalidSavedQueryError'],
      [put('rate2', { ...ok, refresh_rate: '14400' }), 400, 'InvalidSavedQueryError'],
      [put('renamed', { ...ok, query_name: 'other' }), 400, 'InvalidSavedQueryError'],
      [put('bad%20name', ok), 400, 'InvalidSavedQueryError'],
      [put('x'.repeat(201), ok), 400, 'InvalidSavedQueryError'],
      [
        put('big', { ...ok, metadata: { notes: 'x'.repeat(70_000) } }),
        413,
        'SavedQueryTooLargeError',
      ],
      [declaredSizeRequest('PUT', url('/queries/saved/huge'), master(), 11 * 1024 * 1024), 413, ''],
      [put('read-key', ok, server.keys!.read_key), 403, 'AdminOnlyEndpointError'],
      [http('GET', url('/queries/saved/missing'), { key: master() }), 404, 'ResourceNotFoundError'],
      [
        http('GET', url('/queries/saved/missing/result'), { key: server.keys!.read_key }),
        404,
        'ResourceNotFoundError',
      ],
      [
        http('DELETE', url('/queries/saved/missing'), { key: master() }),
        404,
        'ResourceNotFoundError',
      ],
      [
        http('GET', url('/queries/saved'), { key: server.keys!.write_key }),
        403,
        'AdminOnlyEndpointError',
      ],
      [
        http('GET', url('/queries/saved/http-q/result'), { key: server.keys!.write_key }),
        403,
        'InsufficientKeyPermissionsError',
      ],
    ];
    for (const [request, status, code] of cases) {
      const res = await request;
      expect({
        status: res.status,
        code: code ? res.body?.error_code : '',
        message: typeof res.body?.message,
      }).toEqual({
        status,
        code,
        message: 'string',
      });
    }
    expect(
      (await http('GET', url('/queries/saved/http-q'), { key: master() })).body.metadata,
    ).toEqual({ n: 1 });

    // The cap (5 here): py-cached and http-q exist; three more fit, the next is refused.
    for (const name of ['c1', 'c2', 'c3']) expect((await put(name, ok)).status).toBe(201);
    const over = await put('c4', ok);
    expect([over.status, over.body.error_code]).toEqual([403, 'OverSavedQueryLimitError']);
    expect((await put('c3', ok)).status).toBe(200);
    const list = await http('GET', url('/queries/saved'), { key: master() });
    expect(list.body.map((q: any) => q.query_name)).toEqual([
      'c1',
      'c2',
      'c3',
      'http-q',
      'py-cached',
    ]);
    expect((await http('DELETE', url('/queries/saved/c1'), { key: master() })).status).toBe(204);
  });
});
